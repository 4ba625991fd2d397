/** PersistentVolumeClaims (docs/sync-rules.md, "PersistentVolumeClaims"); the grow-only size rule is in `planSync`. */
import type { KubeObject } from "../kube/types.ts";
import type { TransformContext } from "./contracts.ts";
import type { KindTransformResult } from "./kind_rule.ts";
import { ensureObjectAt, type JsonObject } from "./_json.ts";
import { LABEL_ACCESS_MODE, LABEL_STORAGE_CLASS } from "./names.ts";

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
