/**
 * PersistentVolumeClaims (docs/sync-rules.md, "PersistentVolumeClaims"): the transform, and what an
 * existing DR claim keeps of itself (its immutable fields; its size only grows).
 */
import type { KubeObject } from "../kube/types.ts";
import type { TransformContext } from "./contracts.ts";
import type { HoldExisting, KindTransformResult } from "./kind_rule.ts";
import { ensureObjectAt, type JsonObject, objectAt } from "./_json.ts";
import { LABEL_ACCESS_MODE, LABEL_STORAGE_CLASS } from "./names.ts";
import { compareQuantities } from "./parse_quantity.ts";

/** Binding and provisioning state of the source cluster, meaningless on DR. */
const CLAIM_ANNOTATIONS = [
  "pv.kubernetes.io/bind-completed",
  "pv.kubernetes.io/bound-by-controller",
  "volume.kubernetes.io/storage-provisioner",
  "volume.beta.kubernetes.io/storage-provisioner",
  "volume.kubernetes.io/selected-node",
];

const ACCESS_MODES: Readonly<Record<string, string>> = {
  readwriteonce: "ReadWriteOnce",
  readonlymany: "ReadOnlyMany",
  readwritemany: "ReadWriteMany",
  readwriteoncepod: "ReadWriteOncePod",
  rwo: "ReadWriteOnce",
  rox: "ReadOnlyMany",
  rwx: "ReadWriteMany",
  rwop: "ReadWriteOncePod",
};

/**
 * Applies `storageClassMap` and `accessModeMap` to a claim spec (a PVC's, or a StatefulSet's
 * volumeClaimTemplate's) and returns the resulting class when it is known not to exist on DR.
 */
export function mapClaimSpec(spec: JsonObject, ctx: TransformContext): string | undefined {
  const from = spec.storageClassName;
  if (typeof from === "string" && Object.hasOwn(ctx.storageClassMap, from)) {
    spec.storageClassName = ctx.storageClassMap[from];
  }
  if (Array.isArray(spec.accessModes)) {
    const mapped = spec.accessModes.map((m) =>
      typeof m === "string" && Object.hasOwn(ctx.accessModeMap, m) ? ctx.accessModeMap[m] : m
    );
    spec.accessModes = [...new Set(mapped)];
  }
  return missingClass(spec, ctx);
}

function missingClass(spec: JsonObject, ctx: TransformContext): string | undefined {
  const name = spec.storageClassName;
  const missing = typeof name === "string" && name !== "" && ctx.destStorageClasses !== undefined &&
    !ctx.destStorageClasses.has(name);
  return missing ? name : undefined;
}

/**
 * Drops the source's binding (volumeName, dataSource, dataSourceRef, binding annotations) and maps
 * class and access modes; the labels `dr-syncer.io/storage-class` and `dr-syncer.io/access-mode` win
 * over the maps. A class missing on DR, or an access-mode label that names no mode, refuses the copy.
 */
export function transformPvc(draft: KubeObject, ctx: TransformContext): KindTransformResult {
  const spec = ensureObjectAt(draft, "spec");
  delete spec.volumeName;
  delete spec.dataSource;
  delete spec.dataSourceRef;
  for (const key of CLAIM_ANNOTATIONS) delete draft.metadata.annotations?.[key];

  const labels = draft.metadata.labels ?? {};
  const modeLabel = labels[LABEL_ACCESS_MODE];
  const labelMode = modeLabel === undefined ? undefined : ACCESS_MODES[modeLabel.toLowerCase()];
  if (modeLabel !== undefined && labelMode === undefined) {
    const modes = [...new Set(Object.values(ACCESS_MODES))].join(", ");
    return {
      refusal: `Label ${LABEL_ACCESS_MODE} names no access mode: "${modeLabel}" is not one of ${modes}`,
    };
  }

  const sourceClass = spec.storageClassName;
  const classLabel = labels[LABEL_STORAGE_CLASS];
  mapClaimSpec(spec, ctx);
  if (labelMode !== undefined) spec.accessModes = [labelMode];
  if (classLabel !== undefined) spec.storageClassName = classLabel;
  const missing = missingClass(spec, ctx);
  if (missing === undefined) return {};
  const origin = classLabel !== undefined
    ? ` (set by the label ${LABEL_STORAGE_CLASS})`
    : missing !== sourceClass
    ? ` (mapped from "${String(sourceClass)}" by storageClassMap)`
    : "";
  const hint = origin === "" ? `: map it with storageClassMap or the label ${LABEL_STORAGE_CLASS}` : "";
  return { refusal: `StorageClass "${missing}"${origin} does not exist on the DR cluster${hint}` };
}

function storageRequest(obj: KubeObject): string | undefined {
  const storage = objectAt(obj, "spec", "resources", "requests")?.storage;
  return typeof storage === "string" || typeof storage === "number" ? String(storage) : undefined;
}

/** Claim fields Kubernetes never lets change after creation. */
const IMMUTABLE_CLAIM_FIELDS = ["storageClassName", "accessModes", "volumeMode", "selector"] as const;

/**
 * What may be written to an existing DR claim, which holds data and is never recreated: its
 * immutable fields stay as DR has them (a changed class or access mode is a warning saying what to
 * do), its size only grows, and only once the claim is bound (Kubernetes refuses to resize an
 * unbound claim).
 */
export const holdClaim: HoldExisting = (desired, current) => {
  const warnings: string[] = [];
  const object = structuredClone(desired);
  const spec = ensureObjectAt(object, "spec");
  const held = objectAt(current, "spec") ?? {};
  for (const field of IMMUTABLE_CLAIM_FIELDS) {
    if (!(field in held) || JSON.stringify(spec[field]) === JSON.stringify(held[field])) continue;
    warnings.push(
      `The DR claim has ${field} ${JSON.stringify(held[field])}, the source asks ${
        JSON.stringify(spec[field])
      }: a claim's ${field} cannot change, so DR keeps its own; to change it, delete the DR claim by hand (its data is lost) and stage again`,
    );
    spec[field] = held[field];
  }
  const wanted = storageRequest(desired), has = storageRequest(current);
  if (wanted === undefined || has === undefined) return { object, warnings };
  let order: number;
  try {
    order = compareQuantities(wanted, has);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return {
      object,
      warnings: [...warnings, `Cannot compare storage requests "${wanted}" and "${has}": ${detail}`],
    };
  }
  const keep = (warning: string) => {
    ensureObjectAt(object, "spec", "resources", "requests").storage = has;
    warnings.push(warning);
  };
  if (order < 0) {
    keep(
      `The source claim requests "${wanted}", less than the "${has}" of the DR claim: keeping "${has}" (a claim cannot shrink)`,
    );
  } else if (order > 0 && objectAt(current, "status")?.phase !== "Bound") {
    keep(
      `The DR claim is not bound yet, so it cannot grow to "${wanted}": keeping "${has}" until it is bound`,
    );
  }
  return { object, warnings };
};
