/**
 * `syncCRDs`: the CustomResourceDefinitions of the custom types a replication copies are copied to
 * DR first, and their objects wait until each CRD is Established and served. A CRD that exists on
 * DR without dr-syncer's label (installed by its owner) is never changed.
 */
import { delay } from "../async/delay.ts";
import { describeKubeError, isNotFound } from "../kube/kube_api_error.ts";
import type { KubeClient } from "../kube/kube_client.ts";
import type { RetryOptions } from "../kube/retry.ts";
import { forgetDiscovery } from "../kube/discover_resources.ts";
import { CRDS, type KubeObject, type ResourceType, typeKey } from "../kube/types.ts";
import { getObject, listObjects } from "../kube/verbs.ts";
import { contentHash } from "../plan/content_hash.ts";
import {
  ANNOTATION_CONTENT_HASH,
  ANNOTATION_SOURCE_CLUSTER,
  ANNOTATION_SOURCE_UID,
  LABEL_MANAGED_BY,
  MANAGED_BY_VALUE,
} from "../plan/names.ts";
import { hasManagedByLabel } from "../plan/provenance.ts";
import type { ObjectResult } from "../run_report.ts";
import { serverSideApply } from "./apply_plan.ts";

interface Crd extends KubeObject {
  spec: { conversion?: { strategy?: string } } & Record<string, unknown>;
  status?: { conditions?: { type: string; status: string }[] };
}

export interface SyncCrdsOptions {
  readonly sourceCluster: string;
  readonly dryRun: boolean;
  readonly retry?: RetryOptions | undefined;
  /** How long to wait for a new CRD to be Established and served (default 30 s). */
  readonly establishTimeoutMs?: number;
  readonly signal?: AbortSignal | undefined;
}

export interface SyncCrdsResult {
  readonly results: ObjectResult[];
  /** Types whose CRD is now on DR (in a dry run: would be). */
  readonly served: ResourceType[];
}

const getCrd = (client: KubeClient, name: string, signal?: AbortSignal) =>
  getObject<Crd>(client, CRDS, undefined, name, { signal });

function desiredCrd(source: Crd, sourceCluster: string): Crd {
  const annotations = { ...source.metadata.annotations };
  delete annotations["kubectl.kubernetes.io/last-applied-configuration"];
  const crd: Crd = {
    apiVersion: `${CRDS.group}/${CRDS.version}`,
    kind: CRDS.kind,
    metadata: {
      name: source.metadata.name,
      labels: { ...source.metadata.labels, [LABEL_MANAGED_BY]: MANAGED_BY_VALUE },
      annotations: {
        ...annotations,
        [ANNOTATION_SOURCE_CLUSTER]: sourceCluster,
        [ANNOTATION_SOURCE_UID]: source.metadata.uid ?? "",
      },
    },
    spec: source.spec,
  };
  crd.metadata.annotations![ANNOTATION_CONTENT_HASH] = contentHash(crd);
  return crd;
}

async function waitServed(
  dr: KubeClient,
  type: ResourceType,
  name: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let pause = 50;; pause = Math.min(pause * 2, 500)) {
    const crd = await getCrd(dr, name, signal);
    const established = crd?.status?.conditions?.some((c) => c.type === "Established" && c.status === "True");
    if (established) {
      try {
        await listObjects(dr, { ...type, namespaced: false }, undefined, { limit: 1, signal });
        return;
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
    if (Date.now() > deadline) {
      throw new Error(`CustomResourceDefinition "${name}" was not established in time`);
    }
    await delay(pause, { signal });
  }
}

/** Copies the CRDs of `types` that DR lacks; `drServed` is what DR's discovery reported. */
export async function syncCustomResourceDefinitions(
  source: KubeClient,
  dr: KubeClient,
  types: readonly ResourceType[],
  drServed: readonly ResourceType[],
  options: SyncCrdsOptions,
): Promise<SyncCrdsResult> {
  const onDr = new Set(drServed.map(typeKey));
  const missing = types.filter((t) => t.group !== "" && !onDr.has(typeKey(t)));
  const results: ObjectResult[] = [];
  const served: ResourceType[] = [];
  for (const type of missing) {
    const name = typeKey(type);
    const result = (action: ObjectResult["action"], reason?: string, warnings?: string[]) =>
      results.push({
        kind: CRDS.kind,
        group: CRDS.group,
        name,
        namespace: "",
        action,
        ...(reason ? { reason } : {}),
        ...(warnings?.length ? { warnings } : {}),
      });
    try {
      const sourceCrd = await getCrd(source, name, options.signal);
      if (!sourceCrd) {
        result(
          "failed",
          `Cluster "${source.name}" serves ${name} without a CustomResourceDefinition: it cannot be copied`,
        );
        continue;
      }
      const warnings = sourceCrd.spec.conversion?.strategy === "Webhook"
        ? ["its conversion webhook points at a Service that must exist on DR"]
        : [];
      const existing = await getCrd(dr, name, options.signal);
      const timeout = options.establishTimeoutMs ?? 30_000;
      if (existing && !hasManagedByLabel(existing)) {
        // installed on DR by its owner but not served yet: wait for it, never change it
        if (!options.dryRun) await waitServed(dr, type, name, timeout, options.signal);
        served.push(type);
        continue;
      }
      const desired = desiredCrd(sourceCrd, options.sourceCluster);
      const same = existing?.metadata.annotations?.[ANNOTATION_CONTENT_HASH] ===
        desired.metadata.annotations?.[ANNOTATION_CONTENT_HASH];
      if (!options.dryRun) {
        if (!same) {
          await serverSideApply(dr, CRDS, desired, options.retry, options.signal);
          forgetDiscovery(dr); // DR serves a type more
        }
        await waitServed(dr, type, name, timeout, options.signal);
      }
      result(same ? "unchanged" : existing ? "updated" : "created", undefined, warnings);
      served.push(type);
    } catch (error) {
      options.signal?.throwIfAborted();
      result("failed", `Cannot copy the CustomResourceDefinition: ${describeKubeError(error)}`);
    }
  }
  return { results, served };
}
