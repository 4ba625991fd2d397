import { delay } from "../async/delay.ts";
import { orderedPool } from "../async/ordered_pool.ts";
import { describeKubeError, isImmutableFieldError, type KubeApiError } from "../kube/kube_api_error.ts";
import type { KubeClient } from "../kube/kube_client.ts";
import { type RetryOptions, withRetry } from "../kube/retry.ts";
import type { KubeObject, ResourceType } from "../kube/types.ts";
import { applyObject, deleteObject, getObject, replaceObject } from "../kube/verbs.ts";
import type { Logger } from "../log/logger.ts";
import type { PlanEntry, SyncPlan } from "../plan/contracts.ts";
import { replacementOf } from "../plan/drift.ts";
import { kindRuleFor, writeWaitsFor } from "../plan/kind_rules.ts";
import { type CopySource, isOurCopy } from "../plan/provenance.ts";
import type { ImmutablePolicy } from "../plan/replication_spec.ts";
import type { ObjectAction, ObjectResult } from "../run_report.ts";

export interface ApplyPlanOptions {
  /** The replication's source: only its copies are deleted to be recreated. */
  readonly source: CopySource;
  /** Send no write at all; report what would be done. */
  readonly dryRun: boolean;
  readonly immutable: ImmutablePolicy;
  /** Writes in flight at once (default 16). */
  readonly concurrency?: number;
  readonly retry?: RetryOptions;
  readonly logger?: Logger;
  /** Called after each object with the count done and the total. */
  readonly onProgress?: (done: number, total: number) => void;
  /** How long a recreate waits for the old object to go (default 60 s). */
  readonly recreateTimeoutMs?: number;
  /** The replication lock's signal: once aborted, no further write is sent and the run stops. */
  readonly signal?: AbortSignal | undefined;
}

/** Server-side apply of one object with dr-syncer's field manager, retried on 409/429/5xx. */
export async function serverSideApply<T extends KubeObject>(
  client: KubeClient,
  type: Pick<ResourceType, "group" | "version" | "resource" | "namespaced">,
  object: KubeObject,
  retry?: RetryOptions,
  signal?: AbortSignal,
): Promise<T> {
  return await withRetry(() => applyObject<T>(client, type, object, { signal }), { ...retry, signal });
}

async function deleteAndWait(
  client: KubeClient,
  type: ResourceType,
  current: KubeObject,
  options: ApplyPlanOptions,
): Promise<void> {
  const { namespace, name, uid } = current.metadata;
  const signal = options.signal;
  await withRetry(() => deleteObject(client, type, namespace, name, { uid, signal }), {
    ...options.retry,
    signal,
  });
  const deadline = Date.now() + (options.recreateTimeoutMs ?? 60_000);
  for (let pause = 50;; pause = Math.min(pause * 2, 1000)) {
    const live = await getObject(client, type, namespace, name, { signal });
    if (!live || live.metadata.uid !== uid) return; // gone, or someone already recreated it
    if (Date.now() > deadline) {
      throw new Error(`${type.kind} "${name}" was not deleted within the recreate timeout`);
    }
    await delay(pause, { signal });
  }
}

function result(entry: PlanEntry, action: ObjectAction, reason?: string): ObjectResult {
  return {
    kind: entry.type.kind,
    group: entry.type.group,
    name: entry.name,
    namespace: entry.namespace,
    action,
    ...(reason ? { reason } : {}),
    ...(entry.warnings.length > 0 ? { warnings: entry.warnings } : {}),
  };
}

/** The report entry for an object whose write succeeded but which carries errors (e.g. bad scale-override). */
function written(entry: PlanEntry, action: ObjectAction): ObjectResult {
  if (entry.errors.length > 0) return result(entry, "failed", entry.errors.join("; "));
  return result(entry, action, action === "updated" ? entry.reason : undefined);
}

/**
 * Writes `desired` over the object that exists: the whole object (`replacementOf`), an update at
 * the live resourceVersion, so that the result is `desired` exactly (server-side apply would keep
 * what other field managers own). The first try writes `first` when the plan made it from the full
 * object; otherwise, and after a conflict (the object changed since it was read), the object is
 * read again and the replacement made anew. An object gone meanwhile is created.
 */
export async function writeOver(
  client: KubeClient,
  type: ResourceType,
  desired: KubeObject,
  first: KubeObject | undefined,
  options: { readonly retry?: RetryOptions | undefined; readonly signal?: AbortSignal | undefined },
): Promise<KubeObject> {
  const { namespace, name } = desired.metadata;
  let cached = first;
  return await withRetry(async () => {
    let body = cached;
    cached = undefined;
    if (body === undefined) {
      const live = await getObject(client, type, namespace, name, { signal: options.signal });
      if (live === undefined) return await applyObject(client, type, desired, { signal: options.signal });
      body = replacementOf(desired, live);
    }
    options.signal?.throwIfAborted();
    return await replaceObject(client, type, body, { signal: options.signal });
  }, { ...options.retry, signal: options.signal });
}

async function applyEntry(
  client: KubeClient,
  entry: PlanEntry,
  options: ApplyPlanOptions,
): Promise<ObjectResult> {
  const desired = entry.desired!;
  const created = entry.action === "create" ? "created" : "updated";
  if (options.dryRun) return written(entry, created);
  options.signal?.throwIfAborted();
  try {
    if (entry.action === "create") {
      await serverSideApply(client, entry.type, desired, options.retry, options.signal);
    } else {
      await writeOver(client, entry.type, desired, entry.replace, options);
    }
    return written(entry, created);
  } catch (error) {
    options.signal?.throwIfAborted();
    if (!isImmutableFieldError(error)) {
      return result(entry, "failed", `Cannot apply: ${describeKubeError(error)}`);
    }
    const detail = describeKubeError(error as KubeApiError);
    if (options.immutable !== "recreate" || !entry.current) {
      return result(
        entry,
        "failed",
        `Immutable field changed (${detail}); set immutable: recreate to replace the object`,
      );
    }
    const neverRecreate = kindRuleFor(entry.type).neverRecreate;
    if (neverRecreate !== undefined) {
      return result(entry, "failed", `Immutable field changed (${detail}); ${neverRecreate}`);
    }
    if (!isOurCopy(entry.current, options.source)) {
      return result(
        entry,
        "failed",
        `Immutable field changed (${detail}); the DR object was not created by dr-syncer, so it is not recreated`,
      );
    }
    options.logger?.warn("recreating object with a changed immutable field", {
      kind: entry.type.kind,
      name: entry.name,
      detail,
    });
    try {
      await deleteAndWait(client, entry.type, entry.current, options);
      await serverSideApply(client, entry.type, desired, options.retry, options.signal);
      return written(entry, "recreated");
    } catch (recreateError) {
      options.signal?.throwIfAborted();
      return result(entry, "failed", `Cannot recreate: ${describeKubeError(recreateError)}`);
    }
  }
}

async function pruneEntry(
  client: KubeClient,
  entry: PlanEntry,
  options: ApplyPlanOptions,
): Promise<ObjectResult> {
  if (options.dryRun) return result(entry, "pruned", entry.reason);
  options.signal?.throwIfAborted();
  const uid = entry.current?.metadata.uid;
  try {
    const deleted = await withRetry(
      () => deleteObject(client, entry.type, entry.namespace, entry.name, { uid, signal: options.signal }),
      { ...options.retry, signal: options.signal },
    );
    return result(entry, "pruned", deleted ? entry.reason : "already gone");
  } catch (error) {
    options.signal?.throwIfAborted();
    return result(entry, "failed", `Cannot prune: ${describeKubeError(error)}`);
  }
}

function settled(entry: PlanEntry): ObjectResult {
  switch (entry.action) {
    case "skip":
      return result(entry, "skipped", entry.reason);
    case "error":
      return result(entry, "failed", entry.reason);
    default:
      return written(entry, "unchanged");
  }
}

/** Deletions: kind after kind, in the reverse of the write order. */
export const PRUNE_ORDER = {
  orderOf: (e: { readonly order: number }) => -e.order,
  waitsFor: () => true,
} as const;

/**
 * Carries out a plan on the DR cluster: writes with bounded concurrency, each after the writes it
 * depends on (`writeWaitsFor`: namespace first, HPAs last), then prunes in reverse order. Never
 * throws for one object: every object gets a result.
 */
export async function applyPlan(
  client: KubeClient,
  plan: SyncPlan,
  options: ApplyPlanOptions,
): Promise<ObjectResult[]> {
  const total = plan.entries.length;
  const results = new Map<PlanEntry, ObjectResult>();
  let done = 0;
  const finish = (entry: PlanEntry, r: ObjectResult) => {
    results.set(entry, r);
    options.onProgress?.(++done, total);
  };
  for (const entry of plan.entries) {
    if (entry.action !== "create" && entry.action !== "update" && entry.action !== "prune") {
      finish(entry, settled(entry));
    }
  }
  const limit = options.concurrency ?? 16;
  const writes = plan.entries.filter((e) => e.action === "create" || e.action === "update");
  await orderedPool(
    writes,
    { limit, orderOf: (e) => e.order, waitsFor: writeWaitsFor },
    async (entry) => {
      finish(entry, await applyEntry(client, entry, options));
    },
  );
  const prunes = plan.entries.filter((e) => e.action === "prune");
  await orderedPool(prunes, { limit, ...PRUNE_ORDER }, async (entry) => {
    finish(entry, await pruneEntry(client, entry, options));
  });
  return plan.entries.map((e) => results.get(e)!);
}
