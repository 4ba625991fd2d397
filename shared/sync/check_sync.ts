/**
 * What must hold before anything is written (reads only): the source and DR are not one namespace
 * of one cluster, both clusters answer discovery, the source namespace exists, and the
 * replication's type names resolve.
 */
import { InvalidInputError, RefusedError } from "../errors.ts";
import type { KubeClient } from "../kube/kube_client.ts";
import {
  discoverResources,
  discoveryIsKept,
  forgetDiscovery,
  keptDiscoveryTtlMs,
} from "../kube/discover_resources.ts";
import { type KubeObject, NAMESPACES, type ResourceType, typeKey } from "../kube/types.ts";
import { getObject } from "../kube/verbs.ts";
import type { ReplicationSpec } from "../plan/replication_spec.ts";
import { resolveResourceTypes } from "../plan/resolve_resource_types.ts";
import { pairServedVersions } from "../plan/served_versions.ts";

/** The source namespace does not exist: nothing can be staged. */
export class SourceNamespaceNotFoundError extends RefusedError {
  override readonly name = "SourceNamespaceNotFoundError";
  constructor(readonly cluster: string, readonly namespace: string) {
    super(`Source namespace "${namespace}" does not exist in cluster "${cluster}"`);
  }
}

/** Source and DR are the same namespace of the same cluster: staging would overwrite production. */
export class SameNamespaceError extends InvalidInputError {
  override readonly name = "SameNamespaceError";
}

/** The identities read by clients whose discovery is kept (a runtime's), and when. */
const keptUids = new WeakMap<
  KubeClient,
  { readonly at: number; readonly uid: Promise<string | undefined> }
>();

/**
 * The uid of `kube-system`: what identifies a cluster, whatever kubeconfig reaches it. A client
 * whose discovery is kept (a long-running runtime's) keeps its answer as long (a cluster rebuilt
 * behind the same address is seen within that time); a failed read is not kept.
 */
export function clusterUid(client: KubeClient, signal?: AbortSignal): Promise<string | undefined> {
  const read = async (signal?: AbortSignal) =>
    (await getObject(client, NAMESPACES, undefined, "kube-system", { signal }))?.metadata.uid;
  const ttlMs = keptDiscoveryTtlMs(client);
  if (ttlMs === undefined) return read(signal);
  const kept = keptUids.get(client);
  if (kept && Date.now() - kept.at < ttlMs) return kept.uid;
  const entry = { at: Date.now(), uid: read() }; // shared: no one run's signal ends it
  keptUids.set(client, entry);
  entry.uid.catch(() => keptUids.get(client) === entry && keptUids.delete(client));
  return entry.uid;
}

/**
 * Refuses a replication whose source and DR are one namespace of one cluster (two kubeconfigs for
 * the same cluster look different; the uid of kube-system does not).
 */
export async function assertDistinctTargets(
  source: KubeClient,
  dr: KubeClient,
  spec: ReplicationSpec,
): Promise<void> {
  if (spec.sourceNamespace !== spec.destNamespace) return;
  const [a, b] = source.server === dr.server
    ? ["same", "same"]
    : await Promise.all([clusterUid(source), clusterUid(dr)]);
  if (a !== undefined && a === b) {
    throw new SameNamespaceError(
      `Source and DR are the same namespace "${spec.sourceNamespace}" of the same cluster (${dr.server}): refusing to copy a namespace onto itself`,
    );
  }
}

/** What the checks found, for the reads that follow. */
export interface CheckedSync {
  readonly sourceServed: readonly ResourceType[];
  readonly drServed: readonly ResourceType[];
  readonly sourceNamespace: KubeObject;
  readonly types: readonly ResourceType[];
  /**
   * The copied types DR serves at no version the source serves (`typeKey` -> why): left out of `drServed`,
   * their objects fail with that reason.
   */
  readonly mismatched?: ReadonlyMap<string, string>;
}

/**
 * Reads only: discovery of both clusters, the source namespace, the resource types. Throws on bad
 * input (unknown types, source and DR the same namespace) and refuses a missing source namespace.
 */
export async function checkSync(
  source: KubeClient,
  dr: KubeClient,
  spec: ReplicationSpec,
): Promise<CheckedSync> {
  const [sourceServed, drServed, sourceNamespace] = await Promise.all([
    assertDistinctTargets(source, dr, spec).then(() => discoverResources(source)),
    discoverResources(dr),
    getObject(source, NAMESPACES, undefined, spec.sourceNamespace),
  ]);
  if (!sourceNamespace) throw new SourceNamespaceNotFoundError(source.name, spec.sourceNamespace);
  const resolve = (served: readonly ResourceType[]) =>
    resolveResourceTypes(served, {
      resourceTypes: spec.resourceTypes,
      excludeResourceTypes: spec.excludeResourceTypes,
      includeCustomResources: spec.includeCustomResources,
    });
  let served = sourceServed;
  let types: ResourceType[];
  try {
    types = resolve(served);
  } catch (error) {
    // a kept discovery may predate a type that appeared since (a CRD installed): read it again once
    if (!discoveryIsKept(source)) throw error;
    forgetDiscovery(source);
    served = await discoverResources(source);
    types = resolve(served);
  }
  // the same for DR: a type it is missing may have been installed there since its discovery was kept
  let onDr = drServed;
  const drKeys = new Set(drServed.map(typeKey));
  if (discoveryIsKept(dr) && types.some((t) => !drKeys.has(typeKey(t)))) {
    forgetDiscovery(dr);
    onDr = await discoverResources(dr);
  }
  // each type read and written at a version both clusters serve (they may run different Kubernetes versions)
  const paired = pairServedVersions(types, onDr, dr.name);
  return {
    sourceServed: served,
    drServed: paired.drServed,
    sourceNamespace,
    types: paired.types,
    mismatched: paired.mismatched,
  };
}
