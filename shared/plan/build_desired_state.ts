/** From a snapshot of the source namespace to the objects the DR namespace should hold. */
import type { KubeObject } from "../kube/types.ts";
import type {
  DesiredEntry,
  DesiredState,
  SourceSnapshot,
  TransformContext,
  TransformOutcome,
} from "./contracts.ts";
import { LAST_APPLIED_ANNOTATION, METADATA_NAME_LABEL } from "./_kubernetes_names.ts";
import { type FilterContext, filterObject, hasNoSelector, jobOutcome } from "./filter_object.ts";
import {
  ANNOTATION_CONTENT_HASH,
  ANNOTATION_SOURCE_CLUSTER,
  ANNOTATION_SOURCE_NAMESPACE,
  LABEL_MANAGED_BY,
  MANAGED_BY_VALUE,
} from "./names.ts";
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
  return {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: {
      name: ctx.destNamespace,
      labels: { ...without(source.metadata.labels, SYSTEM_LABELS), [LABEL_MANAGED_BY]: MANAGED_BY_VALUE },
      annotations: {
        ...without(source.metadata.annotations, SYSTEM_ANNOTATIONS),
        [ANNOTATION_SOURCE_CLUSTER]: ctx.sourceCluster,
        [ANNOTATION_SOURCE_NAMESPACE]: ctx.sourceNamespace,
      },
    },
  };
}

function filterContext(snapshot: SourceSnapshot): FilterContext {
  const services = snapshot.items
    .filter(({ type }) => type.group === "" && type.kind === "Service")
    .flatMap(({ objects }) => objects.filter(hasNoSelector).map((s) => s.metadata.name));
  return { servicesWithoutSelector: new Set(services) };
}

/**
 * The DR Namespace and, for every object of the snapshot in snapshot order, whether it is skipped
 * (`filterObject`), copied (`transformObject`) or cannot be copied. A transform that throws on a
 * malformed object fails that object only. `filters` is what filtering knows of the whole source
 * namespace (the Services without a selector), by default found in the snapshot; a caller that
 * builds the state page by page gives it.
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
        const finished = type.group === "batch" && type.kind === "Job" && !obj.metadata.deletionTimestamp &&
          jobOutcome(obj);
        outcome = finished
          ? {
            action: "skip",
            reason: skipReason,
            removeCopy: `its source Job ${finished}: the copy would run it again at cutover`,
          }
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
