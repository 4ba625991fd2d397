/** From a snapshot of the source namespace to the objects the DR namespace should hold. */
import type { KubeObject } from "../kube/types.ts";
import type {
  DesiredEntry,
  DesiredState,
  FilterContext,
  SourceSnapshot,
  TransformContext,
  TransformOutcome,
  TypedObjects,
} from "./contracts.ts";
import { LAST_APPLIED_ANNOTATION, METADATA_NAME_LABEL } from "./_kubernetes_names.ts";
import { filterObject } from "./filter_object.ts";
import { type FilterFacts, kindRuleFor } from "./kind_rules.ts";
import { ANNOTATION_CONTENT_HASH } from "./names.ts";
import { provenanceMetadata } from "./provenance.ts";
import { transformObject } from "./transform_object.ts";

/** Namespace labels and annotations that belong to the source cluster, not to the namespace's content. */
const SYSTEM_LABELS = [METADATA_NAME_LABEL];
const SYSTEM_ANNOTATIONS = [
  LAST_APPLIED_ANNOTATION,
  ANNOTATION_CONTENT_HASH,
  // Allocated per cluster by OpenShift; copying them would collide with DR's allocations.
  "openshift.io/sa.scc.mcs",
  "openshift.io/sa.scc.supplemental-groups",
  "openshift.io/sa.scc.uid-range",
];

function without(
  record: Readonly<Record<string, string>> | undefined,
  keys: readonly string[],
): Record<string, string> {
  const copy = { ...record };
  for (const key of keys) delete copy[key];
  return copy;
}

function drNamespace(source: KubeObject, ctx: TransformContext): KubeObject {
  const provenance = provenanceMetadata(ctx);
  return {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: {
      name: ctx.destNamespace,
      labels: { ...without(source.metadata.labels, SYSTEM_LABELS), ...provenance.labels },
      annotations: { ...without(source.metadata.annotations, SYSTEM_ANNOTATIONS), ...provenance.annotations },
    },
  };
}

/** What filtering learns from the objects of the whole source namespace: empty facts, to fill with `observeFacts`. */
export function filterFacts(): FilterFacts {
  return { servicesWithoutSelector: new Set() };
}

/** Notes in `facts` what the rules of `objects`' kind observe (Services without a selector). */
export function observeFacts({ type, objects }: TypedObjects, facts: FilterFacts): void {
  const look = kindRuleFor(type).observe;
  if (look) { for (const obj of objects) look(obj, facts); }
}

function filterContext(snapshot: SourceSnapshot): FilterContext {
  const facts = filterFacts();
  for (const item of snapshot.items) observeFacts(item, facts);
  return facts;
}

/**
 * The DR Namespace and, for every object of the snapshot in snapshot order, whether it is skipped
 * (`filterObject`), copied (`transformObject`) or cannot be copied. A transform that throws on a
 * malformed object fails that object only. `filters` is what filtering knows of the whole source
 * namespace (the Services without a selector), by default observed in the snapshot; a caller that
 * builds the state page by page gives it (`filterFacts`, filled by `observeFacts`).
 */
export function buildDesiredState(
  snapshot: SourceSnapshot,
  ctx: TransformContext,
  filters: FilterContext = filterContext(snapshot),
): DesiredState {
  const entries = snapshot.items.flatMap(({ type, objects }) =>
    objects.map((obj): DesiredEntry => {
      const skipReason = filterObject(obj, type, filters);
      let outcome: TransformOutcome;
      if (skipReason !== undefined) {
        const removeCopy = obj.metadata.deletionTimestamp ? undefined : kindRuleFor(type).removeCopy?.(obj);
        outcome = removeCopy
          ? { action: "skip", reason: skipReason, removeCopy }
          : { action: "skip", reason: skipReason };
      } else {
        try {
          outcome = transformObject(obj, type, ctx);
        } catch (error) {
          const detail = error instanceof Error ? error.message : String(error);
          outcome = {
            action: "error",
            reason: `Cannot transform ${type.kind} "${obj.metadata.name}": ${detail}`,
          };
        }
      }
      return { type, name: obj.metadata.name, outcome };
    })
  );
  return { namespace: drNamespace(snapshot.namespace, ctx), entries };
}
