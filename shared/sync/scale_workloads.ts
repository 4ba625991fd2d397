/**
 * The idempotent scaling steps of cutover and failback. Each step reads the objects, changes only
 * what is not yet as wanted, and writes with optimistic concurrency (the resourceVersion read is a
 * precondition), so a concurrent writer's 409 leads to a re-read and another try.
 */
import type { KubeClient } from "../kube/kube_client.ts";
import { describeKubeError, isNotFound } from "../kube/kube_api_error.ts";
import { type KubeObject, resourcePath, type ResourceType } from "../kube/types.ts";
import type { ObjectResult } from "./contracts.ts";
import { listObjects } from "./list_objects.ts";
import { mapConcurrent } from "./map_concurrent.ts";
import {
  ANNOTATION_ORIGINAL_REPLICAS,
  ANNOTATION_ORIGINAL_SUSPEND,
  ANNOTATION_SOURCE_CLUSTER,
  ANNOTATION_SOURCE_NAMESPACE,
  FIELD_MANAGER,
  LABEL_DISABLED,
  LABEL_MANAGED_BY,
  MANAGED_BY_VALUE,
} from "./names.ts";
import { type RetryOptions, withRetry } from "./retry.ts";

const apps = (resource: string, kind: string): ResourceType => ({
  group: "apps",
  version: "v1",
  resource,
  kind,
  namespaced: true,
});
export const DEPLOYMENTS = apps("deployments", "Deployment");
export const STATEFULSETS = apps("statefulsets", "StatefulSet");
export const DAEMONSETS = apps("daemonsets", "DaemonSet");
export const CRONJOBS: ResourceType = {
  group: "batch",
  version: "v1",
  resource: "cronjobs",
  kind: "CronJob",
  namespaced: true,
};
export const JOBS: ResourceType = {
  group: "batch",
  version: "v1",
  resource: "jobs",
  kind: "Job",
  namespaced: true,
};

interface Workload extends KubeObject {
  spec?: {
    replicas?: number;
    suspend?: boolean;
    template?: { spec?: { nodeSelector?: Record<string, string> } };
  };
}

/** The DR workloads this replication created, per type. */
export interface ManagedWorkloads {
  readonly scalable: readonly { type: ResourceType; object: Workload }[];
  /** CronJobs and Jobs: held with `spec.suspend`. */
  readonly suspendable: readonly { type: ResourceType; object: Workload }[];
  readonly daemonSets: readonly { type: ResourceType; object: Workload }[];
}

export interface ScaleContext {
  readonly source: KubeClient;
  readonly dr: KubeClient;
  readonly sourceCluster: string;
  readonly sourceNamespace: string;
  readonly destNamespace: string;
  readonly concurrency?: number;
  readonly retry?: RetryOptions;
}

function replicasOf(o: Workload): number {
  return o.spec?.replicas ?? 1;
}

/** Reads the DR workloads that carry this replication's provenance. */
export async function listManagedWorkloads(ctx: ScaleContext): Promise<ManagedWorkloads> {
  const ours = (o: KubeObject) =>
    o.metadata.annotations?.[ANNOTATION_SOURCE_NAMESPACE] === ctx.sourceNamespace &&
    o.metadata.annotations?.[ANNOTATION_SOURCE_CLUSTER] === ctx.sourceCluster;
  const list = async (type: ResourceType) =>
    (await listObjects(ctx.dr, type, ctx.destNamespace, {
      labelSelector: `${LABEL_MANAGED_BY}=${MANAGED_BY_VALUE}`,
    }))
      .filter(ours) as Workload[];
  const [deployments, statefulSets, cronJobs, jobs, daemonSets] = await Promise.all([
    list(DEPLOYMENTS),
    list(STATEFULSETS),
    list(CRONJOBS),
    list(JOBS),
    list(DAEMONSETS),
  ]);
  return {
    scalable: [
      ...deployments.map((object) => ({ type: DEPLOYMENTS, object })),
      ...statefulSets.map((object) => ({ type: STATEFULSETS, object })),
    ],
    suspendable: [
      ...cronJobs.map((object) => ({ type: CRONJOBS, object })),
      ...jobs.map((object) => ({ type: JOBS, object })),
    ],
    daemonSets: daemonSets.map((object) => ({ type: DAEMONSETS, object })),
  };
}

function objectResult(
  type: ResourceType,
  namespace: string,
  name: string,
  action: ObjectResult["action"],
  reason?: string,
) {
  return {
    kind: type.kind,
    group: type.group,
    name,
    namespace,
    action,
    ...(reason ? { reason } : {}),
  } as ObjectResult;
}

type Change = { patch: Record<string, unknown>; reason: string } | undefined;

/**
 * Asks `change` for a merge patch (undefined: nothing to do) and sends it with the object's
 * resourceVersion as precondition. The first try uses `known` (an object from a list) when given;
 * a 409 (someone wrote in between) re-reads the object and tries again.
 */
async function patchIfNeeded(
  client: KubeClient,
  type: ResourceType,
  namespace: string,
  name: string,
  change: (live: Workload) => Change,
  retry: RetryOptions | undefined,
  known?: Workload,
): Promise<ObjectResult> {
  const path = resourcePath(type, namespace, name);
  let cached = known;
  try {
    return await withRetry(async () => {
      const live = cached ?? await client.request<Workload>({ method: "GET", path });
      cached = undefined;
      const wanted = change(live);
      if (!wanted) return objectResult(type, namespace, name, "unchanged");
      const meta = (wanted.patch.metadata ?? {}) as Record<string, unknown>;
      await client.request({
        method: "PATCH",
        path,
        query: { fieldManager: FIELD_MANAGER },
        contentType: "application/merge-patch+json",
        body: { ...wanted.patch, metadata: { ...meta, resourceVersion: live.metadata.resourceVersion } },
      });
      return objectResult(type, namespace, name, "updated", `${client.name}: ${wanted.reason}`);
    }, retry);
  } catch (error) {
    if (isNotFound(error)) {
      return objectResult(type, namespace, name, "skipped", `not found in cluster "${client.name}"`);
    }
    return objectResult(type, namespace, name, "failed", describeKubeError(error));
  }
}

type Target = ManagedWorkloads["scalable"][number];
const keyOf = (type: ResourceType, name: string) => `${type.resource}/${name}`;

/**
 * Applies `change` to each target on one side. The first try of each patch starts from the object
 * in `known` (source side: listed there) or from the DR object listed by `listManagedWorkloads`.
 */
function patchAll(
  ctx: ScaleContext,
  side: "source" | "dr",
  targets: readonly Target[],
  change: (live: Workload) => Change,
  known?: ReadonlyMap<string, Workload>,
): Promise<ObjectResult[]> {
  const client = side === "source" ? ctx.source : ctx.dr;
  const namespace = side === "source" ? ctx.sourceNamespace : ctx.destNamespace;
  return mapConcurrent(targets, ctx.concurrency ?? 16, ({ type, object }) => {
    const name = object.metadata.name;
    const first = known ? known.get(keyOf(type, name)) : object;
    return patchIfNeeded(client, type, namespace, name, change, ctx.retry, first);
  });
}

/** The source's versions of the managed workloads, by `resource/name`, with one list per type. */
async function sourceObjects(ctx: ScaleContext, w: ManagedWorkloads): Promise<Map<string, Workload>> {
  const types = [...new Set([...w.scalable, ...w.suspendable].map((t) => t.type))];
  const lists = await Promise.all(types.map(async (type) => {
    const objects = await listObjects(ctx.source, type, ctx.sourceNamespace);
    return objects.map((o) => [keyOf(type, o.metadata.name), o as Workload] as const);
  }));
  return new Map(lists.flat());
}

function recordedReplicas(o: KubeObject): number | undefined {
  const raw = o.metadata.annotations?.[ANNOTATION_ORIGINAL_REPLICAS];
  return raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : undefined;
}

/** Record the count (unless recorded) and scale to zero, in one write. */
const recordAndScaleToZero = (live: Workload): Change => {
  const recorded = live.metadata.annotations?.[ANNOTATION_ORIGINAL_REPLICAS] !== undefined;
  if (recorded && live.spec?.replicas === 0) return undefined;
  const count = replicasOf(live);
  const record = recorded
    ? {}
    : { metadata: { annotations: { [ANNOTATION_ORIGINAL_REPLICAS]: String(count) } } };
  return {
    patch: { ...record, spec: { replicas: 0 } },
    reason: `replicas ${count} -> 0${recorded ? "" : ` (${count} recorded)`}`,
  };
};

/** Record `suspend` (unless recorded) and suspend, in one write. */
const recordAndSuspend = (live: Workload): Change => {
  const recorded = live.metadata.annotations?.[ANNOTATION_ORIGINAL_SUSPEND] !== undefined;
  if (recorded && live.spec?.suspend === true) return undefined;
  const original = String(live.spec?.suspend ?? false);
  const record = recorded ? {} : { metadata: { annotations: { [ANNOTATION_ORIGINAL_SUSPEND]: original } } };
  return {
    patch: { ...record, spec: { suspend: true } },
    reason: `suspended${recorded ? "" : ` (suspend=${original} recorded)`}`,
  };
};

const scaleToRecorded = (live: Workload): Change => {
  const want = recordedReplicas(live);
  if (want === undefined || live.spec?.replicas === want) return undefined;
  return { patch: { spec: { replicas: want } }, reason: `replicas ${live.spec?.replicas ?? 1} -> ${want}` };
};

const suspendAsRecorded = (live: Workload): Change => {
  const want = live.metadata.annotations?.[ANNOTATION_ORIGINAL_SUSPEND] === "true";
  if ((live.spec?.suspend ?? false) === want) return undefined;
  return { patch: { spec: { suspend: want } }, reason: want ? "suspended" : "resumed" };
};

const scaleToZero = (live: Workload): Change =>
  live.spec?.replicas === 0
    ? undefined
    : { patch: { spec: { replicas: 0 } }, reason: `replicas ${replicasOf(live)} -> 0` };

const suspend = (live: Workload): Change =>
  live.spec?.suspend === true ? undefined : { patch: { spec: { suspend: true } }, reason: "suspended" };

const parked = (live: Workload) => live.spec?.template?.spec?.nodeSelector?.[LABEL_DISABLED] === "true";
const setParked = (park: boolean) => (live: Workload): Change =>
  parked(live) === park ? undefined : {
    patch: { spec: { template: { spec: { nodeSelector: { [LABEL_DISABLED]: park ? "true" : null } } } } },
    reason: park ? `parked with nodeSelector ${LABEL_DISABLED}` : `nodeSelector ${LABEL_DISABLED} removed`,
  };

/** Restore the recorded count and clear the record, in one write. */
const restoreReplicas = (live: Workload): Change => {
  const want = recordedReplicas(live);
  if (want === undefined) return undefined;
  return {
    patch: { metadata: { annotations: { [ANNOTATION_ORIGINAL_REPLICAS]: null } }, spec: { replicas: want } },
    reason: `replicas ${live.spec?.replicas ?? 1} -> ${want}, record cleared`,
  };
};

/** Restore the recorded `suspend` and clear the record, in one write. */
const restoreSuspend = (live: Workload): Change => {
  const raw = live.metadata.annotations?.[ANNOTATION_ORIGINAL_SUSPEND];
  if (raw === undefined) return undefined;
  return {
    patch: {
      metadata: { annotations: { [ANNOTATION_ORIGINAL_SUSPEND]: null } },
      spec: { suspend: raw === "true" },
    },
    reason: `suspend=${raw}, record cleared`,
  };
};

const flat = (parts: Promise<ObjectResult[]>[]) => Promise.all(parts).then((r) => r.flat());

/**
 * Source: each workload's count recorded in `dr-syncer.io/original-replicas` (CronJobs and Jobs:
 * `original-suspend`) and the workload scaled to zero (suspended), in one write per object, so
 * there is never a source at zero without its record. An existing record is never overwritten.
 */
export async function scaleSourceDown(ctx: ScaleContext, w: ManagedWorkloads): Promise<ObjectResult[]> {
  const known = await sourceObjects(ctx, w);
  return await flat([
    patchAll(ctx, "source", w.scalable, recordAndScaleToZero, known),
    patchAll(ctx, "source", w.suspendable, recordAndSuspend, known),
  ]);
}

/** DR: replicas to the counts recorded at staging, CronJobs/Jobs to their source suspend, DaemonSets unparked. */
export function scaleDrUp(ctx: ScaleContext, w: ManagedWorkloads): Promise<ObjectResult[]> {
  const unrecorded = w.scalable.filter((t) => recordedReplicas(t.object) === undefined);
  return flat([
    Promise.resolve(
      unrecorded.map(({ type, object }) =>
        objectResult(
          type,
          ctx.destNamespace,
          object.metadata.name,
          "failed",
          "no recorded replica count on DR",
        )
      ),
    ),
    patchAll(ctx, "dr", w.scalable.filter((t) => !unrecorded.includes(t)), scaleToRecorded),
    patchAll(ctx, "dr", w.suspendable, suspendAsRecorded),
    patchAll(ctx, "dr", w.daemonSets, setParked(false)),
  ]);
}

/** DR: back to standby (replicas 0, CronJobs/Jobs suspended, DaemonSets parked). */
export function scaleDrDown(ctx: ScaleContext, w: ManagedWorkloads): Promise<ObjectResult[]> {
  return flat([
    patchAll(ctx, "dr", w.scalable, scaleToZero),
    patchAll(ctx, "dr", w.suspendable, suspend),
    patchAll(ctx, "dr", w.daemonSets, setParked(true)),
  ]);
}

/** Source: replicas and suspend back to the recorded values, and the records removed (one write each). */
export async function restoreSource(ctx: ScaleContext, w: ManagedWorkloads): Promise<ObjectResult[]> {
  const known = await sourceObjects(ctx, w);
  return await flat([
    patchAll(ctx, "source", w.scalable, restoreReplicas, known),
    patchAll(ctx, "source", w.suspendable, restoreSuspend, known),
  ]);
}
