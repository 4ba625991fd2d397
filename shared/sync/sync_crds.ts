/**
 * `syncCRDs`: the CustomResourceDefinitions of the custom types a replication copies are copied to
 * DR first, and their objects wait until each CRD is Established and served. A CRD that exists on
 * DR without dr-syncer's label (installed by its owner) is never changed.
 */
import type { KubeClient } from "../kube/kube_client.ts";
import { describeKubeError, isNotFound } from "../kube/kube_api_error.ts";
import type { KubeObject, ResourceType } from "../kube/types.ts";
import { serverSideApply } from "./apply_plan.ts";
import { contentHash } from "./content_hash.ts";
import type { ObjectResult } from "./contracts.ts";
import {
  ANNOTATION_CONTENT_HASH,
  ANNOTATION_SOURCE_CLUSTER,
  ANNOTATION_SOURCE_UID,
  LABEL_MANAGED_BY,
  MANAGED_BY_VALUE,
} from "./names.ts";
import type { RetryOptions } from "./retry.ts";

const CRDS = {
  group: "apiextensions.k8s.io",
  version: "v1",
  resource: "customresourcedefinitions",
  kind: "CustomResourceDefinition",
  namespaced: false,
} as const satisfies ResourceType;

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
}

export interface SyncCrdsResult {
  readonly results: ObjectResult[];
  /** Types whose CRD is now on DR (in a dry run: would be). */
  readonly served: ResourceType[];
}

const crdPath = (name: string) => `/apis/${CRDS.group}/${CRDS.version}/${CRDS.resource}/${name}`;

async function getCrd(client: KubeClient, name: string): Promise<Crd | undefined> {
  try {
    return await client.request<Crd>({ method: "GET", path: crdPath(name) });
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

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
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 50;; delay = Math.min(delay * 2, 500)) {
    const crd = await getCrd(dr, name);
    const established = crd?.status?.conditions?.some((c) => c.type === "Established" && c.status === "True");
    if (established) {
      try {
        await dr.request({
          method: "GET",
          path: `/apis/${type.group}/${type.version}/${type.resource}`,
          query: { limit: 1 },
        });
        return;
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
    if (Date.now() > deadline) {
      throw new Error(`CustomResourceDefinition "${name}" was not established in time`);
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
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
  const onDr = new Set(drServed.map((t) => `${t.resource}.${t.group}`));
  const missing = types.filter((t) => t.group !== "" && !onDr.has(`${t.resource}.${t.group}`));
  const results: ObjectResult[] = [];
  const served: ResourceType[] = [];
  for (const type of missing) {
    const name = `${type.resource}.${type.group}`;
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
      const sourceCrd = await getCrd(source, name);
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
      const existing = await getCrd(dr, name);
      if (existing && existing.metadata.labels?.[LABEL_MANAGED_BY] !== MANAGED_BY_VALUE) {
        // installed on DR by its owner but not served yet: wait for it, never change it
        if (!options.dryRun) await waitServed(dr, type, name, options.establishTimeoutMs ?? 30_000);
        served.push(type);
        continue;
      }
      const desired = desiredCrd(sourceCrd, options.sourceCluster);
      const same = existing?.metadata.annotations?.[ANNOTATION_CONTENT_HASH] ===
        desired.metadata.annotations?.[ANNOTATION_CONTENT_HASH];
      if (!options.dryRun) {
        if (!same) await serverSideApply(dr, CRDS, desired, options.retry);
        await waitServed(dr, type, name, options.establishTimeoutMs ?? 30_000);
      }
      result(same ? "unchanged" : existing ? "updated" : "created", undefined, warnings);
      served.push(type);
    } catch (error) {
      result("failed", `Cannot copy the CustomResourceDefinition: ${describeKubeError(error)}`);
    }
  }
  return { results, served };
}
