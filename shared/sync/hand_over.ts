/**
 * Cutover's hand-over (docs/operations.md, "Field ownership"): as DR goes live, its copies take the
 * field ownership of their source objects, so that the tools that manage them (Helm,
 * `kubectl apply --server-side`, GitOps) work on DR as they did on the source: server-side apply
 * conflicts with every other owner of a field it changes, and removes only the fields it owns. The
 * workloads take it in the write that scales them up (`scaleDrUp`); the other copies here, one
 * managedFields patch each, only those whose source object a server-side applier manages (the others
 * have no owner to conflict with). Without the source, a copy whose source declared a managing tool
 * (`dr-syncer.io/original-managed-by`, Helm's release annotation) gives up dr-syncer's ownership.
 */
import { pooledMap } from "../async/pooled_map.ts";
import { describeKubeError } from "../kube/kube_api_error.ts";
import type { KubeClient } from "../kube/kube_client.ts";
import { type RetryOptions, withRetry } from "../kube/retry.ts";
import { type KubeObject, type ResourceType, typeKey } from "../kube/types.ts";
import { listObjects, patchObject } from "../kube/verbs.ts";
import {
  handedOverEntries,
  hasOtherApplier,
  isOtherWriter,
  managedFieldsValue,
  managersOf,
  takenBackEntries,
} from "../plan/field_owners.ts";
import { kindRuleFor } from "../plan/kind_rules.ts";
import { ANNOTATION_ORIGINAL_MANAGED_BY } from "../plan/names.ts";
import { isCopyFrom } from "../plan/provenance.ts";
import { copySource, type ReplicationSpec } from "../plan/replication_spec.ts";
import { type ObjectResult, objectResult } from "../run_report.ts";
import { handOverNote } from "./scale_workloads.ts";

/** Helm's annotation on every object of a release. */
const HELM_RELEASE_ANNOTATION = "meta.helm.sh/release-name";

export interface HandOverOptions {
  readonly spec: ReplicationSpec;
  /**
   * `hand-over` as DR goes live (cutover); `take-back` as it goes back to standby (failback): the
   * entries the hand-over gave (still those of the source objects) are dropped.
   */
  readonly direction?: "hand-over" | "take-back";
  /** The replication's types as the source serves them, each with DR's version of it. */
  readonly types: readonly { readonly source: ResourceType; readonly dr: ResourceType }[];
  /** Whether the source can be read (else its ownership is unknown). */
  readonly sourceUp: boolean;
  readonly concurrency?: number | undefined;
  readonly retry?: RetryOptions | undefined;
  readonly signal?: AbortSignal | undefined;
}

/**
 * Hands the field ownership of the replication's copies (all but the workloads) over to what their
 * source objects have. Never fails for one object: one that cannot be patched is reported as
 * skipped with a warning (the cutover is done; Helm on DR may then need --force-conflicts for it).
 */
export async function handOverCopies(
  source: KubeClient,
  dr: KubeClient,
  options: HandOverOptions,
): Promise<ObjectResult[]> {
  const { spec } = options;
  const from = copySource(spec);
  const read = { retry: options.retry, signal: options.signal, metadataOnly: true, keepManagedFields: true };
  const perType = await pooledMap(
    options.types.filter((t) => kindRuleFor(t.source).scale === undefined),
    8,
    async ({ source: sourceType, dr: drType }) => {
      const [copies, originals] = await Promise.all([
        listObjects(dr, drType, spec.destNamespace, read),
        options.sourceUp
          ? listObjects(source, sourceType, spec.sourceNamespace, read)
          : Promise.resolve([] as KubeObject[]),
      ]);
      const bySource = new Map(originals.map((o) => [o.metadata.name, o]));
      return copies.flatMap((copy) => {
        if (!isCopyFrom(copy, from)) return [];
        const original = bySource.get(copy.metadata.name);
        if (options.direction === "take-back") {
          const entries = takenBackEntries(copy, original);
          return entries === undefined ? [] : [{ type: drType, copy, entries }];
        }
        const annotations = copy.metadata.annotations ?? {};
        const managed = options.sourceUp
          ? original !== undefined && hasOtherApplier(original)
          : annotations[ANNOTATION_ORIGINAL_MANAGED_BY] !== undefined ||
            annotations[HELM_RELEASE_ANNOTATION] !== undefined;
        const entries = managed
          ? handedOverEntries(copy, options.sourceUp ? original : undefined)
          : undefined;
        return entries === undefined ? [] : [{ type: drType, copy, entries }];
      });
    },
  );
  return await pooledMap(perType.flat(), options.concurrency ?? 16, async ({ type, copy, entries }) => {
    const name = copy.metadata.name;
    const note = options.direction === "take-back"
      ? "the field owners handed over at the cutover taken back"
      : handOverNote(managersOf(entries.filter(isOtherWriter)));
    try {
      await withRetry(
        () =>
          patchObject(dr, type, spec.destNamespace, name, {
            metadata: { managedFields: managedFieldsValue(entries) },
          }, { signal: options.signal }),
        { ...options.retry, signal: options.signal },
      );
      return objectResult(type, spec.destNamespace, name, "updated", `dr: ${note}`);
    } catch (error) {
      options.signal?.throwIfAborted();
      return {
        ...objectResult(type, spec.destNamespace, name, "skipped", "dr: field owners not handed over"),
        warnings: [
          `Cannot hand its field owners over (${
            describeKubeError(error)
          }): a server-side apply on DR (Helm) may conflict with dr-syncer on it`,
        ],
      };
    }
  });
}

/** Pairs each of the replication's types (as the source serves them) with DR's version of it. */
export function withDrTypes(
  types: readonly ResourceType[],
  drServed: readonly ResourceType[],
): { source: ResourceType; dr: ResourceType }[] {
  const dr = new Map(drServed.filter((t) => t.namespaced).map((t) => [typeKey(t), t]));
  return types.flatMap((t) => dr.has(typeKey(t)) ? [{ source: t, dr: dr.get(typeKey(t))! }] : []);
}

/**
 * The objects of a hand-over (or take-back) the report lists: only those that could not be done (a
 * managedFields patch changes no content; the step's detail counts the others).
 */
export function notWritten(results: readonly ObjectResult[]): ObjectResult[] {
  return results.filter((r) => r.action !== "updated");
}

/** What a hand-over (or take-back) of the other copies did, for a scaling step's detail. */
export function ownershipNote(owned: readonly ObjectResult[], direction: "hand-over" | "take-back"): string {
  const done = owned.filter((o) => o.action === "updated").length;
  const what = direction === "hand-over"
    ? "took the field owners of their source objects"
    : "gave back the field owners the cutover handed over";
  return `${done} other cop${done === 1 ? "y" : "ies"} ${what}`;
}
