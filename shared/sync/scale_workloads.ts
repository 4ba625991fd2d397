/**
 * The idempotent scaling steps of cutover and failback. Each step starts from listed objects,
 * changes only what is not yet as wanted, and sends merge patches. A patch that writes a record
 * (the count to restore later) carries the object's resourceVersion as precondition, so the
 * recorded count is the one the object had; a 409 re-reads the object and tries again.
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
  LABEL_SCALE_OVERRIDE,
} from "./names.ts";
import { type RetryOptions, withRetry } from "./retry.ts";

const workloadType = (group: string, resource: string, kind: string): ResourceType => ({
  group,
  version: "v1",
  resource,
  kind,
  namespaced: true,
});
export const DEPLOYMENTS = workloadType("apps", "deployments", "Deployment");
export const STATEFULSETS = workloadType("apps", "statefulsets", "StatefulSet");
export const DAEMONSETS = workloadType("apps", "daemonsets", "DaemonSet");
export const CRONJOBS = workloadType("batch", "cronjobs", "CronJob");
export const JOBS = workloadType("batch", "jobs", "Job");

interface Workload extends KubeObject {
  spec?: {
    replicas?: number;
    suspend?: boolean;
    template?: { spec?: { nodeSelector?: Record<string, string> } };
  };
}

interface Target {
  readonly type: ResourceType;
  readonly object: Workload;
}

/** Workloads of one namespace, by how they are held: replicas, `suspend`, or a parking nodeSelector. */
export interface Workloads {
  readonly scalable: readonly Target[];
  /** CronJobs and Jobs. */
  readonly suspendable: readonly Target[];
  readonly daemonSets: readonly Target[];
}

export interface ScaleContext {
  readonly source: KubeClient;
  readonly dr: KubeClient;
  readonly sourceCluster: string;
  readonly sourceNamespace: string;
  readonly destNamespace: string;
  /** The replication's standby: 0 replicas (true), or the recorded counts (false). */
  readonly scaleToZero: boolean;
  readonly concurrency?: number;
  readonly retry?: RetryOptions;
  /** The replication lock's signal: once aborted, no further write is sent. */
  readonly signal?: AbortSignal;
  /** The replication's resource types (`resource.group`); only these workloads are listed. Default: all. */
  readonly types?: ReadonlySet<string>;
}

type Change = { patch: Record<string, unknown>; reason: string } | undefined;

async function listWorkloads(
  ctx: ScaleContext,
  client: KubeClient,
  namespace: string,
  keep: (o: KubeObject) => boolean,
): Promise<Workloads> {
  const list = async (type: ResourceType) =>
    ctx.types && !ctx.types.has(`${type.resource}.${type.group}`)
      ? []
      : (await listObjects(client, type, namespace)).filter(keep).map((object) => ({
        type,
        object: object as Workload,
      }));
  const [deployments, statefulSets, cronJobs, jobs, daemonSets] = await Promise.all(
    [DEPLOYMENTS, STATEFULSETS, CRONJOBS, JOBS, DAEMONSETS].map(list),
  );
  return {
    scalable: [...deployments!, ...statefulSets!],
    suspendable: [...cronJobs!, ...jobs!],
    daemonSets: daemonSets!,
  };
}

/**
 * The DR workloads this replication copied, found by their provenance annotations (not by the
 * managed-by label, which tools such as Helm may rewrite on the live DR side).
 */
export function listManagedWorkloads(ctx: ScaleContext): Promise<Workloads> {
  return listWorkloads(
    ctx,
    ctx.dr,
    ctx.destNamespace,
    (o) =>
      o.metadata.annotations?.[ANNOTATION_SOURCE_NAMESPACE] === ctx.sourceNamespace &&
      o.metadata.annotations?.[ANNOTATION_SOURCE_CLUSTER] === ctx.sourceCluster,
  );
}

/** The source's versions of the given workloads (all of them when `names` is undefined). */
async function listSource(ctx: ScaleContext, of?: Workloads): Promise<Workloads> {
  const wanted = of &&
    new Set([...of.scalable, ...of.suspendable, ...of.daemonSets].map((t) => key(t.type, t.object)));
  return await listWorkloads(ctx, ctx.source, ctx.sourceNamespace, () => true).then((w) =>
    wanted
      ? {
        scalable: w.scalable.filter((t) => wanted.has(key(t.type, t.object))),
        suspendable: w.suspendable.filter((t) => wanted.has(key(t.type, t.object))),
        daemonSets: w.daemonSets.filter((t) => wanted.has(key(t.type, t.object))),
      }
      : w
  );
}

const key = (type: ResourceType, o: KubeObject) => `${type.resource}/${o.metadata.name}`;

function objectResult(
  type: ResourceType,
  namespace: string,
  name: string,
  action: ObjectResult["action"],
  reason?: string,
): ObjectResult {
  return { kind: type.kind, group: type.group, name, namespace, action, ...(reason ? { reason } : {}) };
}

/**
 * Asks `change` for a merge patch (undefined: nothing to do) and sends it. The first try starts
 * from the listed object; a conflict re-reads it. A patch that writes a record is conditional on
 * the resourceVersion it was computed from.
 */
async function patchIfNeeded(
  client: KubeClient,
  namespace: string,
  target: Target,
  change: (live: Workload) => Change,
  ctx: ScaleContext,
): Promise<ObjectResult> {
  const { type } = target;
  const name = target.object.metadata.name;
  const path = resourcePath(type, namespace, name);
  let cached: Workload | undefined = target.object;
  try {
    return await withRetry(async () => {
      const live = cached ?? await client.request<Workload>({ method: "GET", path });
      cached = undefined;
      const wanted = change(live);
      if (!wanted) return objectResult(type, namespace, name, "unchanged");
      ctx.signal?.throwIfAborted();
      const records = "metadata" in wanted.patch;
      const meta = (wanted.patch.metadata ?? {}) as Record<string, unknown>;
      await client.request({
        method: "PATCH",
        path,
        query: { fieldManager: FIELD_MANAGER },
        contentType: "application/merge-patch+json",
        body: records
          ? { ...wanted.patch, metadata: { ...meta, resourceVersion: live.metadata.resourceVersion } }
          : wanted.patch,
      });
      return objectResult(type, namespace, name, "updated", `${client.name}: ${wanted.reason}`);
    }, ctx.retry);
  } catch (error) {
    if (ctx.signal?.aborted) throw ctx.signal.reason;
    if (isNotFound(error)) {
      return objectResult(type, namespace, name, "skipped", `not found in cluster "${client.name}"`);
    }
    return objectResult(type, namespace, name, "failed", describeKubeError(error));
  }
}

function patchAll(
  ctx: ScaleContext,
  side: "source" | "dr",
  targets: readonly Target[],
  change: (live: Workload) => Change,
) {
  const client = side === "source" ? ctx.source : ctx.dr;
  const namespace = side === "source" ? ctx.sourceNamespace : ctx.destNamespace;
  return mapConcurrent(
    targets,
    ctx.concurrency ?? 16,
    (t) => patchIfNeeded(client, namespace, t, change, ctx),
  );
}

const flat = (parts: Promise<ObjectResult[]>[]) => Promise.all(parts).then((r) => r.flat());

function replicasOf(o: Workload): number {
  return o.spec?.replicas ?? 1;
}

function recordedReplicas(o: KubeObject): number | undefined {
  const raw = o.metadata.annotations?.[ANNOTATION_ORIGINAL_REPLICAS];
  return raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : undefined;
}

/**
 * Record the live count and scale to zero, in one write. A record is trusted only while the
 * object stands at zero (a cutover left it so); a record beside a live count is stale and
 * replaced by the live count.
 */
const recordAndScaleToZero = (live: Workload): Change => {
  const count = replicasOf(live);
  if (recordedReplicas(live) !== undefined && count === 0) return undefined;
  return {
    patch: {
      metadata: { annotations: { [ANNOTATION_ORIGINAL_REPLICAS]: String(count) } },
      spec: { replicas: 0 },
    },
    reason: `replicas ${count} -> 0 (${count} recorded)`,
  };
};

/** Record `suspend` and suspend, in one write; a record is trusted only while the object is suspended. */
const recordAndSuspend = (live: Workload): Change => {
  const suspended = live.spec?.suspend === true;
  if (live.metadata.annotations?.[ANNOTATION_ORIGINAL_SUSPEND] !== undefined && suspended) return undefined;
  return {
    patch: {
      metadata: { annotations: { [ANNOTATION_ORIGINAL_SUSPEND]: String(suspended) } },
      spec: { suspend: true },
    },
    reason: `suspended (suspend=${suspended} recorded)`,
  };
};

const setReplicas = (want: (live: Workload) => number | undefined) => (live: Workload): Change => {
  const n = want(live);
  if (n === undefined || live.spec?.replicas === n) return undefined;
  return { patch: { spec: { replicas: n } }, reason: `replicas ${live.spec?.replicas ?? 1} -> ${n}` };
};

const setSuspend = (want: (live: Workload) => boolean) => (live: Workload): Change => {
  const w = want(live);
  if ((live.spec?.suspend ?? false) === w) return undefined;
  return { patch: { spec: { suspend: w } }, reason: w ? "suspended" : "resumed" };
};

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

/** The DR count while standing by: a valid scale-override label, else 0, else (scaleToZero false) the source's count. */
function standbyReplicas(ctx: ScaleContext) {
  return (live: Workload): number | undefined => {
    const override = live.metadata.labels?.[LABEL_SCALE_OVERRIDE];
    if (override !== undefined && /^\d+$/.test(override)) return Number(override);
    return ctx.scaleToZero ? 0 : recordedReplicas(live);
  };
}

/**
 * Source: each workload of `managed` scaled to zero with its count recorded in
 * `dr-syncer.io/original-replicas` in the same write (CronJobs and Jobs: suspended, with
 * `original-suspend`), DaemonSets parked: the source goes quiet and a failback can restore it.
 */
export async function scaleSourceDown(ctx: ScaleContext, managed: Workloads): Promise<ObjectResult[]> {
  const w = await listSource(ctx, managed);
  return await flat([
    patchAll(ctx, "source", w.scalable, recordAndScaleToZero),
    patchAll(ctx, "source", w.suspendable, recordAndSuspend),
    patchAll(ctx, "source", w.daemonSets, setParked(true)),
  ]);
}

/** DR: replicas to the counts recorded at staging, CronJobs/Jobs to their source suspend, DaemonSets unparked. */
export function scaleDrUp(ctx: ScaleContext, w: Workloads): Promise<ObjectResult[]> {
  const unrecorded = new Set(w.scalable.filter((t) => recordedReplicas(t.object) === undefined));
  return flat([
    Promise.resolve(
      [...unrecorded].map(({ type, object }) =>
        objectResult(
          type,
          ctx.destNamespace,
          object.metadata.name,
          "failed",
          "no recorded replica count on DR",
        )
      ),
    ),
    patchAll(ctx, "dr", w.scalable.filter((t) => !unrecorded.has(t)), setReplicas(recordedReplicas)),
    patchAll(
      ctx,
      "dr",
      w.suspendable,
      setSuspend((live) => live.metadata.annotations?.[ANNOTATION_ORIGINAL_SUSPEND] === "true"),
    ),
    patchAll(ctx, "dr", w.daemonSets, setParked(false)),
  ]);
}

/** DR: back to how stage leaves it (replicas at the standby count, CronJobs/Jobs suspended, DaemonSets parked). */
export function scaleDrDown(ctx: ScaleContext, w: Workloads): Promise<ObjectResult[]> {
  if (!ctx.scaleToZero) return flat([patchAll(ctx, "dr", w.scalable, setReplicas(standbyReplicas(ctx)))]);
  return flat([
    patchAll(ctx, "dr", w.scalable, setReplicas(standbyReplicas(ctx))),
    patchAll(ctx, "dr", w.suspendable, setSuspend(() => true)),
    patchAll(ctx, "dr", w.daemonSets, setParked(true)),
  ]);
}

/**
 * Source: every workload carrying a record goes back to the recorded count (or `suspend`) with
 * the record removed in the same write, and parked DaemonSets are unparked. Found on the source
 * itself, so a DR object renamed, relabelled or deleted meanwhile cannot leave its source down.
 */
export async function restoreSource(ctx: ScaleContext): Promise<ObjectResult[]> {
  const w = await listSource(ctx);
  return await flat([
    patchAll(
      ctx,
      "source",
      w.scalable.filter((t) => recordedReplicas(t.object) !== undefined),
      restoreReplicas,
    ),
    patchAll(
      ctx,
      "source",
      w.suspendable.filter((t) => t.object.metadata.annotations?.[ANNOTATION_ORIGINAL_SUSPEND] !== undefined),
      restoreSuspend,
    ),
    patchAll(ctx, "source", w.daemonSets.filter((t) => parked(t.object)), setParked(false)),
  ]);
}
