/**
 * Failback's copy-back, on the clusters (the decisions are `plan/copy_back.ts`): reads both
 * namespaces type by type, in full with who owns what, plans, and writes on the source what changed on
 * DR while it served: new objects created, changed ones written over (an update at the source
 * object's resourceVersion), and with prune the objects deleted on DR deleted. Each object written
 * takes the field ownership its DR version had (so Helm and the other tools that manage it on DR find
 * on the source what they left there), and a DR object without provenance that was copied back is
 * marked as this replication's copy of it (so the next stage updates it instead of refusing it).
 */
import { orderedPool } from "../async/ordered_pool.ts";
import { pooledMap } from "../async/pooled_map.ts";
import { RefusedError } from "../errors.ts";
import { describeKubeError, isImmutableFieldError } from "../kube/kube_api_error.ts";
import type { KubeClient } from "../kube/kube_client.ts";
import { type RetryOptions, withRetry } from "../kube/retry.ts";
import { type KubeObject, type ResourceType, typeKey } from "../kube/types.ts";
import { createObject, deleteObject, listObjects, patchObject } from "../kube/verbs.ts";
import type { Logger } from "../log/logger.ts";
import { filterFacts, observeFacts } from "../plan/build_desired_state.ts";
import { type CopyBackEntry, DELETED_ON_DR, planCopyBack } from "../plan/copy_back.ts";
import { entriesWithWriters, managedFieldsValue } from "../plan/field_owners.ts";
import { kindRuleFor, writeWaitsFor } from "../plan/kind_rules.ts";
import {
  ANNOTATION_ORIGINAL_MANAGED_BY,
  ANNOTATION_SOURCE_CLUSTER,
  ANNOTATION_SOURCE_NAMESPACE,
  ANNOTATION_SOURCE_RESOURCE_VERSION,
  ANNOTATION_SOURCE_UID,
  LABEL_MANAGED_BY,
  MANAGED_BY_VALUE,
} from "../plan/names.ts";
import { copySource, type ReplicationSpec, transformContext } from "../plan/replication_spec.ts";
import { type ObjectResult, objectResult } from "../run_report.ts";
import { PRUNE_ORDER, writeOver } from "./apply_plan.ts";
import type { CheckedSync } from "./check_sync.ts";

export interface CopyBackOptions {
  readonly replication: ReplicationSpec;
  /** Discovery of both clusters and the types, from `checkSync`. */
  readonly checked: CheckedSync;
  readonly dryRun: boolean;
  /** Delete the source objects whose DR copy was deleted while DR served. */
  readonly prune: boolean;
  /** DR objects without provenance created since then (ISO) are new on DR and copied back. */
  readonly newSince?: string | undefined;
  readonly concurrency?: number | undefined;
  readonly retry?: RetryOptions | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly logger?: Logger | undefined;
}

/** Too many deletions: the same guard as a stage's prune limit. */
export class CopyBackPruneLimitError extends RefusedError {
  override readonly name = "CopyBackPruneLimitError";
}

/** What an entry keeps once planned: no full DR object, an unchanged one not even the source's. */
function slim(entry: CopyBackEntry): CopyBackEntry {
  const mark = entry.markOnDr && {
    apiVersion: entry.markOnDr.apiVersion,
    kind: entry.markOnDr.kind,
    metadata: { name: entry.markOnDr.metadata.name, labels: entry.markOnDr.metadata.labels ?? {} },
  };
  const current = entry.current && entry.action !== "prune" && entry.action !== "update"
    ? {
      apiVersion: entry.current.apiVersion,
      kind: entry.current.kind,
      metadata: { name: entry.name, uid: entry.current.metadata.uid ?? "" },
    }
    : entry.current;
  return { ...entry, ...(current ? { current } : {}), ...(mark ? { markOnDr: mark } : {}) };
}

/**
 * Plans the copy-back of every type both clusters serve (of the replication's types) and, unless a
 * dry run, carries it out. Refuses (before any write) more deletions than the replication's
 * `maxPrune`. Returns one result per object it looked at on the source (unchanged ones included).
 */
export async function copyBack(
  source: KubeClient,
  dr: KubeClient,
  options: CopyBackOptions,
): Promise<ObjectResult[]> {
  const spec = options.replication;
  const read = { retry: options.retry, signal: options.signal, keepManagedFields: true };
  const drServed = new Map(options.checked.drServed.filter((t) => t.namespaced).map((t) => [typeKey(t), t]));
  const types = options.checked.types.filter((t) => drServed.has(typeKey(t)));
  const forward = transformContext(spec);
  const drFilters = filterFacts(), sourceFilters = filterFacts();
  const planType = async (type: ResourceType): Promise<CopyBackEntry[]> => {
    const [drObjects, sourceObjects] = await Promise.all([
      listObjects(dr, drServed.get(typeKey(type))!, spec.destNamespace, read),
      listObjects(source, type, spec.sourceNamespace, read),
    ]);
    observeFacts({ type, objects: drObjects }, drFilters);
    observeFacts({ type, objects: sourceObjects }, sourceFilters);
    return planCopyBack(type, drObjects, sourceObjects, {
      forward,
      newSince: options.newSince,
      prune: options.prune,
      pruneClaims: spec.pruneClaims,
      drFilters,
      sourceFilters,
    }).map(slim);
  };
  // a kind filtered with what the others observed (Endpoints) is planned once the others are read
  const first = types.filter((t) => !kindRuleFor(t).filteredLast);
  const last = types.filter((t) => kindRuleFor(t).filteredLast);
  const entries = [
    ...(await pooledMap(first, 8, planType)).flat(),
    ...(await pooledMap(last, 8, planType)).flat(),
  ].sort((a, b) =>
    a.order - b.order || (a.type.kind < b.type.kind ? -1 : a.type.kind > b.type.kind ? 1 : 0) ||
    (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
  );

  const deletions = entries.filter((e) => e.action === "prune" && e.reason === DELETED_ON_DR).length;
  if (!options.dryRun && deletions > spec.maxPrune) {
    throw new CopyBackPruneLimitError(
      `Failback of "${spec.name}" would delete ${deletions} source objects whose DR copy is gone, more than the limit of ${spec.maxPrune}: nothing was written; if DR really lost them, run again with --max-prune ${deletions} (maxPrune: ${deletions} in the config), or without --prune`,
    );
  }
  const results = new Map<CopyBackEntry, ObjectResult>();
  const settle = (e: CopyBackEntry, action: ObjectResult["action"], reason?: string) => {
    const r = objectResult(e.type, spec.sourceNamespace, e.name, action, reason);
    results.set(e, e.warnings.length > 0 ? { ...r, warnings: e.warnings } : r);
  };
  for (const e of entries) {
    if (e.action === "skip") settle(e, "skipped", e.reason);
    else if (e.action === "error") settle(e, "failed", e.reason);
    else if (e.action === "unchanged" && (options.dryRun || !e.markOnDr)) settle(e, "unchanged");
  }
  const concurrency = options.concurrency ?? 16;
  const writes = entries.filter((e) => !results.has(e) && e.action !== "prune");
  const ordered = { limit: concurrency, orderOf: (e: CopyBackEntry) => e.order, waitsFor: writeWaitsFor };
  await orderedPool(writes, ordered, async (e) => {
    const done = e.action === "create" ? "created" : e.action === "update" ? "updated" : "unchanged";
    if (options.dryRun) return settle(e, done, e.reason);
    try {
      await writeEntry(source, dr, e, options);
      settle(e, done, e.reason);
    } catch (error) {
      options.signal?.throwIfAborted();
      const detail = describeKubeError(error);
      settle(
        e,
        "failed",
        isImmutableFieldError(error)
          ? `Cannot copy back: an immutable field changed on DR (${detail}); the source keeps its own object (pass --discard-dr-changes to fail back without it)`
          : `Cannot copy back: ${detail}`,
      );
    }
  });
  const prunes = entries.filter((e) => e.action === "prune");
  await orderedPool(prunes, { limit: concurrency, ...PRUNE_ORDER }, async (e) => {
    if (options.dryRun) return settle(e, "pruned", e.reason);
    try {
      const gone = await withRetry(
        () =>
          deleteObject(source, e.type, spec.sourceNamespace, e.name, {
            uid: e.current?.metadata.uid,
            signal: options.signal,
          }),
        { ...options.retry, signal: options.signal },
      );
      settle(e, "pruned", gone ? e.reason : "already gone");
    } catch (error) {
      options.signal?.throwIfAborted();
      settle(e, "failed", `Cannot delete: ${describeKubeError(error)}`);
    }
  });
  return entries.map((e) => results.get(e)!);
}

/** One object written on the source, its ownership taken from DR, its DR original marked as the copy. */
async function writeEntry(
  source: KubeClient,
  dr: KubeClient,
  entry: CopyBackEntry,
  options: CopyBackOptions,
): Promise<void> {
  const spec = options.replication;
  const io = { retry: options.retry, signal: options.signal };
  let written: KubeObject | undefined;
  if (entry.action === "create") {
    written = await withRetry(
      () => createObject(source, entry.type, entry.desired!, { signal: options.signal }),
      { ...options.retry, signal: options.signal },
    );
  } else if (entry.action === "update") {
    written = await writeOver(source, entry.type, entry.desired!, entry.replace, io);
  }
  if (written !== undefined && entry.owners !== undefined) {
    const owners = entriesWithWriters(written, entry.owners);
    if (owners !== undefined) {
      await withRetry(
        () =>
          patchObject(source, entry.type, spec.sourceNamespace, entry.name, {
            metadata: { managedFields: managedFieldsValue(owners) },
          }, { signal: options.signal }),
        { ...options.retry, signal: options.signal },
      ).catch((error) =>
        options.logger?.warn("could not hand the field ownership of a copied-back object over", {
          kind: entry.type.kind,
          name: entry.name,
          error,
        })
      );
    }
  }
  const mark = entry.markOnDr;
  const uid = written?.metadata.uid ?? entry.current?.metadata.uid;
  if (mark === undefined || !uid) return;
  const provenance = copySource(spec);
  const label = mark.metadata.labels?.[LABEL_MANAGED_BY];
  await withRetry(
    () =>
      patchObject(dr, entry.type, spec.destNamespace, entry.name, {
        metadata: {
          labels: { [LABEL_MANAGED_BY]: MANAGED_BY_VALUE },
          annotations: {
            [ANNOTATION_SOURCE_CLUSTER]: provenance.sourceCluster,
            [ANNOTATION_SOURCE_NAMESPACE]: provenance.sourceNamespace,
            [ANNOTATION_SOURCE_UID]: uid,
            ...(written?.metadata.resourceVersion
              ? { [ANNOTATION_SOURCE_RESOURCE_VERSION]: written.metadata.resourceVersion }
              : {}),
            ...(label !== undefined && label !== MANAGED_BY_VALUE
              ? { [ANNOTATION_ORIGINAL_MANAGED_BY]: label }
              : {}),
          },
        },
      }, { signal: options.signal }),
    { ...options.retry, signal: options.signal },
  );
}
