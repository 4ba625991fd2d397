/**
 * The idempotent scaling steps of cutover and failback, on the clusters. Each step lists the
 * workloads, asks a pure decision of `plan/scale_decisions.ts` what each needs, and sends only
 * those merge patches. A patch that writes a record (the count to restore later) carries the
 * object's resourceVersion as precondition, so the recorded count is the one the object had; a
 * 409 re-reads the object and decides again.
 */
import { delay } from "../async/delay.ts";
import { pooledMap } from "../async/pooled_map.ts";
import { describeKubeError, isNotFound, isPatchTestFailure, isRetryable } from "../kube/kube_api_error.ts";
import type { KubeClient } from "../kube/kube_client.ts";
import { type RetryOptions, withRetry } from "../kube/retry.ts";
import { type KubeObject, PODS, type ResourceType, typeKey } from "../kube/types.ts";
import { getObject, jsonPatchObject, listObjects, patchObject } from "../kube/verbs.ts";
import { isOwned } from "../plan/filter_object.ts";
import { type KindScale, SCALED_TYPES } from "../plan/kind_rules.ts";
import { isCopyFrom } from "../plan/provenance.ts";
import { hasSuspendRecord, recordedReplicas } from "../plan/replica_count.ts";
import { copySource, type ReplicationSpec } from "../plan/replication_spec.ts";
import {
  guardedPatch,
  isLiveOnDr,
  isParked,
  keepingClaims,
  liveReplicas,
  recordAndScaleToZero,
  recordAndSuspend,
  replicasOf,
  restoreReplicas,
  restoreReplicasTo,
  restoreSuspend,
  restoringClaims,
  type ScaleDecision,
  setParked,
  setReplicas,
  setSuspend,
  sourceSuspend,
  standbyReplicas,
  withOwnership,
  type Workload,
  writesRecord,
} from "../plan/scale_decisions.ts";
import { handedOverEntries, takenBackEntries } from "../plan/field_owners.ts";
import { type ObjectResult, objectResult } from "../run_report.ts";

interface Target {
  readonly type: ResourceType;
  /** How its kind stands by (its rule's `scale`). */
  readonly scale: KindScale;
  readonly object: Workload;
}

/**
 * Workloads of one namespace, by how their kind stands by (`KindScale.by`): replicas, `suspend`, or
 * a parking nodeSelector.
 */
export interface Workloads {
  /** Deployments, StatefulSets, ReplicaSets, ReplicationControllers. */
  readonly scalable: readonly Target[];
  /** CronJobs and Jobs. */
  readonly suspendable: readonly Target[];
  readonly daemonSets: readonly Target[];
}

export interface ScaleContext {
  readonly source: KubeClient;
  readonly dr: KubeClient;
  readonly spec: ReplicationSpec;
  readonly concurrency?: number | undefined;
  readonly retry?: RetryOptions | undefined;
  /** The replication lock's signal: once aborted, no further write is sent. */
  readonly signal?: AbortSignal | undefined;
  /** The replication's resource types (`typeKey`); only these workloads are listed. Default: all. */
  readonly types?: ReadonlySet<string> | undefined;
  /**
   * Filled with each workload as its step left it (the write's answer, or the object as listed when
   * it needed none), by `Kind/name`: `scaleSourceDown`'s tells the hand-over its source owners
   * without another list.
   */
  readonly latest?: Map<string, KubeObject> | undefined;
}

/**
 * The workloads of the kinds the table scales (`SCALED_TYPES`) that `keep` accepts. Owned ones are
 * left to their owners: they are never copied, and a Deployment's ReplicaSets carry its annotations
 * (its provenance and its records) without being its copy.
 */
async function listWorkloads(
  ctx: ScaleContext,
  client: KubeClient,
  namespace: string,
  keep: (o: KubeObject) => boolean,
): Promise<Workloads> {
  const listed = await Promise.all(
    SCALED_TYPES.map(async ({ type, scale }): Promise<Target[]> =>
      ctx.types && !ctx.types.has(typeKey(type))
        ? []
        : (await listObjects<Workload>(client, type, namespace, {
          signal: ctx.signal,
          keepManagedFields: true,
        }))
          .filter((o) => !isOwned(o) && keep(o))
          .map((object) => ({ type, scale, object }))
    ),
  );
  const by = (hold: KindScale["by"]) => listed.flat().filter((t) => t.scale.by === hold);
  return { scalable: by("replicas"), suspendable: by("suspend"), daemonSets: by("park") };
}

/** The DR workloads this replication copied, found by their provenance annotations. */
export function listManagedWorkloads(ctx: ScaleContext): Promise<Workloads> {
  const source = copySource(ctx.spec);
  return listWorkloads(ctx, ctx.dr, ctx.spec.destNamespace, (o) => isCopyFrom(o, source));
}

const key = (t: Target) => `${typeKey(t.type)}/${t.object.metadata.name}`;

/** The source's versions of the given workloads (all of them when `of` is undefined). */
async function listSource(ctx: ScaleContext, of?: Workloads): Promise<Workloads> {
  const all = await listWorkloads(ctx, ctx.source, ctx.spec.sourceNamespace, () => true);
  if (!of) return all;
  const wanted = new Set([...of.scalable, ...of.suspendable, ...of.daemonSets].map(key));
  return {
    scalable: all.scalable.filter((t) => wanted.has(key(t))),
    suspendable: all.suspendable.filter((t) => wanted.has(key(t))),
    daemonSets: all.daemonSets.filter((t) => wanted.has(key(t))),
  };
}

/**
 * Asks `decide` for a merge patch and sends it. The first try starts from the listed object; a
 * conflict re-reads it. A patch that writes a record is conditional on the resourceVersion it was
 * computed from. Never throws for one object, except when the lock is lost.
 */
async function patchIfNeeded(
  client: KubeClient,
  namespace: string,
  target: Target,
  decide: ScaleDecision,
  ctx: ScaleContext,
): Promise<ObjectResult> {
  const { type } = target;
  const name = target.object.metadata.name;
  const done = (action: ObjectResult["action"], reason?: string) =>
    objectResult(type, namespace, name, action, reason);
  let cached: Workload | undefined = target.object;
  let guardedOnce = false;
  try {
    return await withRetry(async () => {
      const live = cached ?? await getObject<Workload>(client, type, namespace, name, { signal: ctx.signal });
      cached = undefined;
      if (!live) return done("skipped", `not found in cluster "${client.name}"`);
      const change = decide(live);
      const seen = `${type.kind}/${name}`;
      if (!change) {
        ctx.latest?.set(seen, live);
        return done("unchanged");
      }
      ctx.signal?.throwIfAborted();
      const guarded = writesRecord(change) ? guardedPatch(change, live) : undefined;
      guardedOnce = guarded !== undefined;
      let written: Workload;
      if (guarded) {
        written = await jsonPatchObject(client, type, namespace, name, guarded, { signal: ctx.signal });
      } else {
        const meta = (change.patch.metadata ?? {}) as Record<string, unknown>;
        const patch = writesRecord(change)
          ? { ...change.patch, metadata: { ...meta, resourceVersion: live.metadata.resourceVersion } }
          : change.patch;
        written = await patchObject(client, type, namespace, name, patch, { signal: ctx.signal });
      }
      ctx.latest?.set(seen, written);
      return done("updated", `${client.name}: ${change.reason}`);
    }, {
      ...ctx.retry,
      signal: ctx.signal,
      // a guarded patch whose test failed (the object changed under it) is read again, like a conflict
      retryable: (e) => (ctx.retry?.retryable ?? isRetryable)(e) || (guardedOnce && isPatchTestFailure(e)),
    });
  } catch (error) {
    if (ctx.signal?.aborted) throw ctx.signal.reason;
    if (isNotFound(error)) return done("skipped", `not found in cluster "${client.name}"`);
    return done("failed", describeKubeError(error));
  }
}

/**
 * Scale writes in flight at once: three times the run's concurrency (16 by default, so 48). They are
 * few (one per workload) and small, and the time they take is the outage a cutover makes.
 */
export function scaleConcurrency(ctx: Pick<ScaleContext, "concurrency">): number {
  return Math.min(256, (ctx.concurrency ?? 16) * 3);
}

function patchAll(
  ctx: ScaleContext,
  side: "source" | "dr",
  targets: readonly Target[],
  decide: ScaleDecision,
) {
  const client = side === "source" ? ctx.source : ctx.dr;
  const namespace = side === "source" ? ctx.spec.sourceNamespace : ctx.spec.destNamespace;
  return pooledMap(targets, scaleConcurrency(ctx), (t) => patchIfNeeded(client, namespace, t, decide, ctx));
}

/**
 * Whether the source still stands as a cutover left it: a workload of it carries a record (a replica
 * count, `suspend`, or the parking nodeSelector). Once a failback restored it, none does: it serves.
 */
export async function sourceShowsCutover(ctx: ScaleContext): Promise<boolean> {
  const w = await listSource(ctx);
  return w.scalable.some((t) => recordedReplicas(t.object) !== undefined) ||
    w.suspendable.some((t) => hasSuspendRecord(t.object)) || w.daemonSets.some((t) => isParked(t.object));
}

/** The live counts of DR's scalable workloads, by `Kind/name` (for a failback that keeps them). */
export function drCounts(w: Workloads): Map<string, number> {
  return new Map(w.scalable.map((t) => [`${t.type.kind}/${t.object.metadata.name}`, replicasOf(t.object)]));
}

/**
 * Waits until no pod of the given DR workloads is left (running or terminating), so that nothing
 * writes on DR when the source starts again; the names of those still there at the timeout.
 */
export async function waitForDrPodsGone(
  ctx: ScaleContext,
  w: Workloads,
  timeoutMs: number,
): Promise<string[]> {
  // a warm standby (a standby count above zero) runs on DR by design: only the rest must be gone
  const standby = standbyReplicas(ctx.spec.scaleToZero);
  const stopped = [
    ...w.scalable.filter((t) => (standby(t.object) ?? 0) === 0),
    ...w.suspendable,
    ...w.daemonSets,
  ];
  const selectors = stopped.flatMap((t) => {
    // a CronJob has no selector: the pods of Jobs it started are not awaited (suspending it does not
    // stop them); selectors made only of matchExpressions are not awaited either
    // (a ReplicationController's selector is the label map itself)
    const spec = t.object.spec as { selector?: { matchLabels?: Record<string, string> } } | undefined;
    const labels = (t.scale.mapSelector ? spec?.selector : spec?.selector?.matchLabels) ?? {};
    const selector = Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(",");
    return selector === "" ? [] : [{ name: `${t.type.kind}/${t.object.metadata.name}`, selector }];
  });
  const deadline = performance.now() + timeoutMs;
  for (let pause = 100;; pause = Math.min(pause * 2, 1000)) {
    const left: string[] = [];
    for (const { name, selector } of selectors) {
      const pods = await listObjects(ctx.dr, PODS, ctx.spec.destNamespace, {
        labelSelector: selector,
        signal: ctx.signal,
      });
      if (pods.length > 0) left.push(`${name} (${pods.length} pod(s))`);
    }
    if (left.length === 0 || performance.now() >= deadline) return left;
    await delay(pause, { signal: ctx.signal });
  }
}

/** The DR workloads of this replication that run beyond their standby hold, re-read from DR. */
export async function liveOnDr(ctx: ScaleContext): Promise<string[]> {
  const w = await listManagedWorkloads(ctx);
  return [...w.scalable, ...w.suspendable, ...w.daemonSets]
    .filter((t) => isLiveOnDr(t.object, t.scale.by, ctx.spec.scaleToZero))
    .map((t) => `${t.type.kind}/${t.object.metadata.name}`);
}

const flat = (parts: Promise<ObjectResult[]>[]) => Promise.all(parts).then((r) => r.flat());

/**
 * Source: each workload of `managed` scaled to zero with its count recorded in
 * `dr-syncer.io/original-replicas` in the same write (CronJobs and Jobs: suspended, with
 * `original-suspend`), DaemonSets parked: the source goes quiet and a failback can restore it.
 */
export async function scaleSourceDown(ctx: ScaleContext, managed: Workloads): Promise<ObjectResult[]> {
  const w = await listSource(ctx, managed);
  return await flat([
    patchAll(ctx, "source", w.scalable, keepingClaims(recordAndScaleToZero)),
    patchAll(ctx, "source", w.suspendable, recordAndSuspend),
    patchAll(ctx, "source", w.daemonSets, setParked(true)),
  ]);
}

/**
 * The source's workloads of the replication's workload types as metadata (who owns which field), by
 * `Kind/name`: what DR's copies take over as DR goes live (`HandOver`).
 */
export async function sourceOwners(ctx: ScaleContext): Promise<Map<string, KubeObject>> {
  const owners = new Map<string, KubeObject>();
  await Promise.all(SCALED_TYPES.map(async ({ type }) => {
    if (ctx.types && !ctx.types.has(typeKey(type))) return;
    const listed = await listObjects(ctx.source, type, ctx.spec.sourceNamespace, {
      signal: ctx.signal,
      metadataOnly: true,
      keepManagedFields: true,
    });
    for (const o of listed) owners.set(`${type.kind}/${o.metadata.name}`, o);
  }));
  return owners;
}

/**
 * The field ownership DR's workloads take as DR goes live, in the write that scales each up: their
 * source objects' (`from`, by `Kind/name`), or, without the source (`from` undefined: it cannot be
 * read), their own without dr-syncer's (docs/operations.md, "Field ownership").
 */
export interface HandOver {
  readonly from: ReadonlyMap<string, KubeObject> | undefined;
}

/** What a hand-over says in the report. */
export function handOverNote(writers: readonly string[]): string {
  return writers.length > 0
    ? `field owners handed over (${writers.join(", ")})`
    : "field owners handed over (dr-syncer's given up)";
}

/** DR: replicas to the counts recorded at staging, CronJobs/Jobs to their source suspend, DaemonSets unparked. */
export function scaleDrUp(ctx: ScaleContext, w: Workloads, handOver?: HandOver): Promise<ObjectResult[]> {
  const unrecorded = new Set(w.scalable.filter((t) => recordedReplicas(t.object) === undefined));
  const ns = ctx.spec.destNamespace;
  const owning = (decide: ScaleDecision): ScaleDecision =>
    handOver === undefined ? decide : withOwnership(decide, (live) =>
      handedOverEntries(
        live,
        handOver.from === undefined ? undefined : handOver.from.get(`${live.kind}/${live.metadata.name}`),
      ), handOverNote);
  return flat([
    Promise.resolve(
      [...unrecorded].map(({ type, object }) =>
        objectResult(type, ns, object.metadata.name, "failed", "no recorded replica count on DR")
      ),
    ),
    patchAll(
      ctx,
      "dr",
      w.scalable.filter((t) => !unrecorded.has(t)),
      owning(restoringClaims(setReplicas(liveReplicas(ctx.spec.scaleToZero)))),
    ),
    patchAll(ctx, "dr", w.suspendable, owning(setSuspend(sourceSuspend))),
    patchAll(ctx, "dr", w.daemonSets, owning(setParked(false))),
  ]);
}

/**
 * DR: back to how stage leaves it (replicas at the standby count, CronJobs/Jobs suspended, DaemonSets
 * parked), and with `takeBack` the field ownership the cutover handed over (the entries still equal to
 * their source objects' in `takeBack.from`) dropped in the same write.
 */
export function scaleDrDown(ctx: ScaleContext, w: Workloads, takeBack?: HandOver): Promise<ObjectResult[]> {
  const owning = (decide: ScaleDecision): ScaleDecision =>
    takeBack === undefined ? decide : withOwnership(
      decide,
      (live) => takenBackEntries(live, takeBack.from?.get(`${live.kind}/${live.metadata.name}`)),
      () => "the field owners handed over at the cutover taken back",
    );
  return flat([
    patchAll(
      ctx,
      "dr",
      w.scalable,
      owning(keepingClaims(setReplicas(standbyReplicas(ctx.spec.scaleToZero)))),
    ),
    patchAll(ctx, "dr", w.suspendable, owning(setSuspend(() => true))),
    patchAll(ctx, "dr", w.daemonSets, owning(setParked(true))),
  ]);
}

/**
 * Source: every workload carrying a record goes back to the recorded count (or `suspend`) with
 * the record removed in the same write, and parked DaemonSets are unparked. Found on the source
 * itself, so a DR object renamed, relabelled or deleted meanwhile cannot leave its source down.
 */
export async function restoreSource(
  ctx: ScaleContext,
  /** Counts to restore instead of the records (the counts DR ran at), by `Kind/name`. */
  counts?: ReadonlyMap<string, number>,
): Promise<ObjectResult[]> {
  const w = await listSource(ctx);
  const recorded = w.scalable.filter((t) => recordedReplicas(t.object) !== undefined);
  // a DR count of zero is no count to restore (a re-run after DR went down): the record wins
  const override = (t: Target) => {
    const count = counts?.get(`${t.type.kind}/${t.object.metadata.name}`);
    return count !== undefined && count > 0 ? count : undefined;
  };
  return await flat([
    patchAll(
      ctx,
      "source",
      recorded.filter((t) => override(t) === undefined),
      restoringClaims(restoreReplicas),
    ),
    ...recorded.filter((t) => override(t) !== undefined).map((t) =>
      patchAll(ctx, "source", [t], restoringClaims(restoreReplicasTo(override(t)!)))
    ),
    patchAll(ctx, "source", w.suspendable.filter((t) => hasSuspendRecord(t.object)), restoreSuspend),
    patchAll(ctx, "source", w.daemonSets.filter((t) => isParked(t.object)), setParked(false)),
  ]);
}
