/**
 * The scaling decisions of cutover and failback, as pure functions: given a workload as it is
 * live, the merge patch that brings it where a step wants it (with the reason shown in the
 * report), or `undefined` when it is there already. Patches that write a record (the count or
 * `suspend` to restore later) write it in the same patch as the change.
 */
import type { KubeObject } from "../kube/types.ts";
import {
  DR_SYNCER_MANAGER,
  isOtherWriter,
  type ManagedFieldsEntry,
  managedFieldsOf,
  managedFieldsValue,
  managersOf,
  sameJson,
} from "./field_owners.ts";
import type { KindScale } from "./kind_rule.ts";
import {
  ANNOTATION_ORIGINAL_REPLICAS,
  ANNOTATION_ORIGINAL_SUSPEND,
  ANNOTATION_ORIGINAL_WHEN_SCALED,
  LABEL_DISABLED,
} from "./names.ts";
import { recordedReplicas, scaleOverride } from "./replica_count.ts";

/** A workload (a kind whose rule has `scale`), as far as scaling reads it. */
export interface Workload extends KubeObject {
  spec?: {
    replicas?: number;
    suspend?: boolean;
    persistentVolumeClaimRetentionPolicy?: { whenScaled?: string; whenDeleted?: string };
    template?: { spec?: { nodeSelector?: Record<string, string> } };
  };
}

/** A merge patch and why, or `undefined`: nothing to change. */
export type ScaleChange = { readonly patch: Record<string, unknown>; readonly reason: string } | undefined;
export type ScaleDecision = (live: Workload) => ScaleChange;

/** Kubernetes' default when `spec.replicas` is absent. */
export function replicasOf(o: Workload): number {
  return o.spec?.replicas ?? 1;
}

/** Whether a patch writes a record (then it must be conditional on the version it was computed from). */
export function writesRecord(change: NonNullable<ScaleChange>): boolean {
  return "metadata" in change.patch;
}

/**
 * Record the live count and scale to zero, in one write. A record is trusted only while the
 * object stands at zero (a cutover left it so); a record beside a live count is stale and
 * replaced by the live count.
 */
export const recordAndScaleToZero: ScaleDecision = (live) => {
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
export const recordAndSuspend: ScaleDecision = (live) => {
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

/** Replicas to the count `want` gives (nothing when it gives none). */
export const setReplicas = (want: (live: Workload) => number | undefined): ScaleDecision => (live) => {
  const n = want(live);
  if (n === undefined || live.spec?.replicas === n) return undefined;
  return { patch: { spec: { replicas: n } }, reason: `replicas ${replicasOf(live)} -> ${n}` };
};

/** `spec.suspend` to the value `want` gives. */
export const setSuspend = (want: (live: Workload) => boolean): ScaleDecision => (live) => {
  const w = want(live);
  if ((live.spec?.suspend ?? false) === w) return undefined;
  return { patch: { spec: { suspend: w } }, reason: w ? "suspended" : "resumed" };
};

/** A DaemonSet held off every node by the nodeSelector `dr-syncer.io/disabled: "true"`. */
export function isParked(live: Workload): boolean {
  return live.spec?.template?.spec?.nodeSelector?.[LABEL_DISABLED] === "true";
}

/** Park (or unpark) a DaemonSet. */
export const setParked = (park: boolean): ScaleDecision => (live) =>
  isParked(live) === park ? undefined : {
    patch: { spec: { template: { spec: { nodeSelector: { [LABEL_DISABLED]: park ? "true" : null } } } } },
    reason: park ? `parked with nodeSelector ${LABEL_DISABLED}` : `nodeSelector ${LABEL_DISABLED} removed`,
  };

/** Restore the recorded count and clear the record, in one write. */
export const restoreReplicas: ScaleDecision = (live) => {
  const want = recordedReplicas(live);
  if (want === undefined) return undefined;
  return {
    patch: { metadata: { annotations: { [ANNOTATION_ORIGINAL_REPLICAS]: null } }, spec: { replicas: want } },
    reason: `replicas ${replicasOf(live)} -> ${want}, record cleared`,
  };
};

/** Restore to `count` (the count DR ran at, when asked for) and clear the record, in one write. */
export const restoreReplicasTo = (count: number): ScaleDecision => (live) => {
  if (recordedReplicas(live) === undefined && replicasOf(live) === count) return undefined;
  return {
    patch: { metadata: { annotations: { [ANNOTATION_ORIGINAL_REPLICAS]: null } }, spec: { replicas: count } },
    reason: `replicas ${replicasOf(live)} -> ${count} (DR's count), record cleared`,
  };
};

/** Restore the recorded `suspend` and clear the record, in one write. */
export const restoreSuspend: ScaleDecision = (live) => {
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

/**
 * The DR count while standing by: a valid scale-override label, else 0, else (`scaleToZero`
 * false) the source's recorded count.
 */
export function standbyReplicas(scaleToZero: boolean): (live: Workload) => number | undefined {
  return (live) => {
    const override = scaleOverride(live);
    if (override !== undefined && "count" in override) return override.count;
    return scaleToZero ? 0 : recordedReplicas(live);
  };
}

/**
 * The DR count when DR takes over: the source's recorded count, but never below the warm-standby
 * count (a scale-override of 2 over a source that ran 1 must not drop DR to 1 as it takes traffic).
 */
export function liveReplicas(scaleToZero: boolean): (live: Workload) => number | undefined {
  const standby = standbyReplicas(scaleToZero);
  return (live) => {
    const recorded = recordedReplicas(live);
    if (recorded === undefined) return undefined;
    return Math.max(recorded, standby(live) ?? 0);
  };
}

/** Whether a DR CronJob or Job should run after cutover: the source's recorded `suspend`. */
export function sourceSuspend(live: Workload): boolean {
  return live.metadata.annotations?.[ANNOTATION_ORIGINAL_SUSPEND] === "true";
}

/** One operation of a JSON patch (RFC 6902). */
export type JsonPatchOp =
  | { readonly op: "test" | "add"; readonly path: string; readonly value: unknown }
  | { readonly op: "remove"; readonly path: string };

const pointer = (parts: readonly string[]) =>
  "/" + parts.map((p) => p.replaceAll("~", "~0").replaceAll("/", "~1")).join("/");

/**
 * A record-writing change of a workload that stands by at a replica count (`spec.replicas`: a
 * Deployment, StatefulSet, ReplicaSet, ReplicationController) as a JSON patch that first tests the
 * fields the decision read (its replica count and its recorded count): a concurrent status write by
 * a controller, which changes the resourceVersion but neither of those, does not make it conflict.
 * `undefined` for a workload without a replica count (a CronJob's or Job's record patches stay
 * conditional on the resourceVersion).
 */
export function guardedPatch(change: NonNullable<ScaleChange>, live: Workload): JsonPatchOp[] | undefined {
  if (typeof live.spec?.replicas !== "number") return undefined;
  const ops: JsonPatchOp[] = [{ op: "test", path: "/spec/replicas", value: live.spec.replicas }];
  const record = live.metadata.annotations?.[ANNOTATION_ORIGINAL_REPLICAS];
  if (record !== undefined) {
    ops.push({
      op: "test",
      path: pointer(["metadata", "annotations", ANNOTATION_ORIGINAL_REPLICAS]),
      value: record,
    });
  }
  const walk = (patch: Record<string, unknown>, have: unknown, at: string[]) => {
    for (const [key, value] of Object.entries(patch)) {
      const here = [...at, key];
      const current = have && typeof have === "object" ? (have as Record<string, unknown>)[key] : undefined;
      if (value === null) {
        if (current !== undefined) ops.push({ op: "remove", path: pointer(here) });
      } else if (
        typeof value === "object" && !Array.isArray(value) && current && typeof current === "object"
      ) {
        walk(value as Record<string, unknown>, current, here);
      } else {
        ops.push({ op: "add", path: pointer(here), value: withoutNulls(value) });
      }
    }
  };
  walk(change.patch, live, []);
  return ops;
}

function withoutNulls(value: unknown): unknown {
  if (!value || typeof value !== "object" || Array.isArray(value)) return value;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== null).map((
      [k, v],
    ) => [k, withoutNulls(v)]),
  );
}

/** Adds `b` to the merge patch `a` (both small nested objects). */
function mergePatch(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] = prev && typeof prev === "object" && v && typeof v === "object"
      ? mergePatch(prev as Record<string, unknown>, v as Record<string, unknown>)
      : v;
  }
  return out;
}

/**
 * Never lets a scale-down delete claims: a workload whose claim retention policy (a StatefulSet's)
 * says `whenScaled: Delete` gets `Retain` in the same patch that lowers its replicas, the original
 * recorded in `dr-syncer.io/original-pvc-retention-when-scaled`.
 */
export const keepingClaims = (decide: ScaleDecision): ScaleDecision => (live) => {
  const change = decide(live);
  if (!change) return change;
  const wanted = (change.patch.spec as { replicas?: number } | undefined)?.replicas;
  const lowers = wanted !== undefined && wanted < replicasOf(live);
  if (!lowers || live.spec?.persistentVolumeClaimRetentionPolicy?.whenScaled !== "Delete") return change;
  return {
    patch: mergePatch(change.patch, {
      metadata: { annotations: { [ANNOTATION_ORIGINAL_WHEN_SCALED]: "Delete" } },
      spec: { persistentVolumeClaimRetentionPolicy: { whenScaled: "Retain" } },
    }),
    reason: `${change.reason}; claim retention whenScaled Delete -> Retain while scaled down (recorded)`,
  };
};

/**
 * Puts a recorded claim retention policy back as the workload (a StatefulSet: only `keepingClaims`
 * and the StatefulSet transform write the record) comes back up, in the same patch.
 */
export const restoringClaims = (decide: ScaleDecision): ScaleDecision => (live) => {
  const change = decide(live);
  const recorded = live.metadata.annotations?.[ANNOTATION_ORIGINAL_WHEN_SCALED];
  if (recorded === undefined) return change;
  const restore = {
    metadata: { annotations: { [ANNOTATION_ORIGINAL_WHEN_SCALED]: null } },
    spec: { persistentVolumeClaimRetentionPolicy: { whenScaled: recorded } },
  };
  const note = `claim retention whenScaled ${recorded} restored`;
  return change
    ? { patch: mergePatch(change.patch, restore), reason: `${change.reason}; ${note}` }
    : { patch: restore, reason: note };
};

/**
 * Whether a DR workload, which stands by `by` its kind's rule (`KindScale`), runs beyond how stage
 * holds it: more replicas than its standby count, not suspended (CronJobs, Jobs), not parked
 * (DaemonSets). Cutover and failback decide from this (the clusters' actual state), not only from
 * recorded progress.
 */
export function isLiveOnDr(live: Workload, by: KindScale["by"], scaleToZero: boolean): boolean {
  switch (by) {
    case "suspend":
      return live.spec?.suspend !== true;
    case "park":
      return !isParked(live);
    case "replicas":
      return replicasOf(live) > (standbyReplicas(scaleToZero)(live) ?? 0);
  }
}

/** A source workload a cutover left behind: at zero replicas with a recorded count. */
export function isCutoverRecord(o: Workload): boolean {
  return recordedReplicas(o) !== undefined && o.spec?.replicas === 0;
}

/**
 * Adds to a decision the field ownership the workload should have (`ownership`: `handedOverEntries`
 * as its side goes live, `standbyEntries` as it goes back to standby), in the same write: a workload
 * already where the step wants it gets a write of its managedFields alone, when they differ. The
 * entries of dr-syncer's own updates (the counts it scaled) are not a difference on their own.
 */
export const withOwnership = (
  decide: ScaleDecision,
  ownership: (live: Workload) => readonly ManagedFieldsEntry[] | undefined,
  note: (writers: readonly string[]) => string,
): ScaleDecision =>
(live) => {
  const change = decide(live);
  const next = ownership(live);
  if (next === undefined) return change;
  const isScaleEntry = (e: ManagedFieldsEntry) => e.manager === DR_SYNCER_MANAGER && e.operation === "Update";
  const same = sameJson(
    next.filter((e) => !isScaleEntry(e)),
    managedFieldsOf(live).filter((e) => !isScaleEntry(e)),
  );
  if (!change && same) return undefined;
  const told = note(managersOf(next.filter(isOtherWriter)));
  const metadata = {
    ...(change?.patch.metadata as Record<string, unknown> | undefined),
    managedFields: managedFieldsValue(next),
  };
  return { patch: { ...change?.patch, metadata }, reason: change ? `${change.reason}; ${told}` : told };
};
