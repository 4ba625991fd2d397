import type { KubeClient } from "../kube/kube_client.ts";
import {
  describeKubeError,
  isImmutableFieldError,
  isNotFound,
  type KubeApiError,
} from "../kube/kube_api_error.ts";
import { type KubeObject, resourcePath, type ResourceType } from "../kube/types.ts";
import type { Logger } from "../log/logger.ts";
import type { ObjectAction, ObjectResult, PlanEntry, SyncPlan } from "./contracts.ts";
import { mapConcurrent } from "./map_concurrent.ts";
import { ANNOTATION_SOURCE_NAMESPACE, FIELD_MANAGER, LABEL_MANAGED_BY, MANAGED_BY_VALUE } from "./names.ts";
import { type RetryOptions, withRetry } from "./retry.ts";

export type ImmutablePolicy = "report" | "recreate";

export interface ApplyPlanOptions {
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

/** Server-side apply of one object with dr-syncer's field manager. */
export async function serverSideApply<T extends KubeObject>(
  client: KubeClient,
  type: Pick<ResourceType, "group" | "version" | "resource" | "namespaced">,
  object: KubeObject,
  retry?: RetryOptions,
): Promise<T> {
  return await withRetry(
    () =>
      client.request<T>({
        method: "PATCH",
        path: resourcePath(type, object.metadata.namespace, object.metadata.name),
        query: { fieldManager: FIELD_MANAGER, force: true },
        contentType: "application/apply-patch+yaml",
        body: object,
      }),
    retry,
  );
}

async function deleteAndWait(
  client: KubeClient,
  type: ResourceType,
  current: KubeObject,
  options: ApplyPlanOptions,
): Promise<void> {
  const path = resourcePath(type, current.metadata.namespace, current.metadata.name);
  try {
    await withRetry(() =>
      client.request({
        method: "DELETE",
        path,
        body: {
          apiVersion: "v1",
          kind: "DeleteOptions",
          propagationPolicy: "Background",
          ...(current.metadata.uid ? { preconditions: { uid: current.metadata.uid } } : {}),
        },
      }), options.retry);
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  const deadline = Date.now() + (options.recreateTimeoutMs ?? 60_000);
  for (let delay = 50;; delay = Math.min(delay * 2, 1000)) {
    try {
      const live = await client.request<KubeObject>({ method: "GET", path });
      if (live.metadata.uid !== current.metadata.uid) return; // someone already recreated it
    } catch (error) {
      if (isNotFound(error)) return;
      throw error;
    }
    if (Date.now() > deadline) {
      throw new Error(`${type.kind} "${current.metadata.name}" was not deleted within the recreate timeout`);
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

/** A DR object dr-syncer copied (its label and provenance annotation): the only kind it may delete. */
function copiedByDrSyncer(object: KubeObject): boolean {
  return object.metadata.labels?.[LABEL_MANAGED_BY] === MANAGED_BY_VALUE &&
    object.metadata.annotations?.[ANNOTATION_SOURCE_NAMESPACE] !== undefined;
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
  return entry.errors.length > 0 ? result(entry, "failed", entry.errors.join("; ")) : result(entry, action);
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
    await serverSideApply(client, entry.type, desired, options.retry);
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
    if (!copiedByDrSyncer(entry.current)) {
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
      await serverSideApply(client, entry.type, desired, options.retry);
      return written(entry, "recreated");
    } catch (recreateError) {
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
    await withRetry(() =>
      client.request({
        method: "DELETE",
        path: resourcePath(entry.type, entry.namespace, entry.name),
        body: {
          apiVersion: "v1",
          kind: "DeleteOptions",
          propagationPolicy: "Background",
          ...(uid ? { preconditions: { uid } } : {}),
        },
      }), options.retry);
    return result(entry, "pruned", entry.reason);
  } catch (error) {
    if (isNotFound(error)) return result(entry, "pruned", "already gone");
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

/**
 * Carries out a plan on the DR cluster: writes each group of equal `order` with bounded
 * concurrency before the next group starts (namespace first, HPAs last), then prunes in reverse
 * order. Never throws for one object: every object gets a result.
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
  const writes = plan.entries.filter((e) => e.action === "create" || e.action === "update");
  const orders = [...new Set(writes.map((e) => e.order))].sort((a, b) => a - b);
  for (const order of orders) {
    await mapConcurrent(writes.filter((e) => e.order === order), options.concurrency ?? 16, async (entry) => {
      finish(entry, await applyEntry(client, entry, options));
    });
  }
  const prunes = plan.entries.filter((e) => e.action === "prune");
  for (const order of [...new Set(prunes.map((e) => e.order))].sort((a, b) => b - a)) {
    await mapConcurrent(prunes.filter((e) => e.order === order), options.concurrency ?? 16, async (entry) => {
      finish(entry, await pruneEntry(client, entry, options));
    });
  }
  return plan.entries.map((e) => results.get(e)!);
}
