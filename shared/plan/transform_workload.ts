/**
 * Workloads arrive on DR without running anything (docs/sync-rules.md, "Workloads and replicas"):
 * Deployments, StatefulSets, and unowned ReplicaSets and ReplicationControllers at 0 replicas,
 * CronJobs and Jobs suspended, DaemonSets parked on a nodeSelector that matches no node. The source
 * values are kept in annotations for cutover. Also what the filter does with finished Jobs.
 */
import type { KubeObject } from "../kube/types.ts";
import type { TransformContext } from "./contracts.ts";
import type { KindTransform } from "./kind_rule.ts";
import { annotationsFor, ensureObjectAt, objectAt, objectsAt } from "./_json.ts";
import { recordedReplicas, scaleOverride } from "./replica_count.ts";
import { mapClaimSpec } from "./transform_pvc.ts";
import {
  ANNOTATION_ORIGINAL_REPLICAS,
  ANNOTATION_ORIGINAL_SUSPEND,
  ANNOTATION_ORIGINAL_WHEN_SCALED,
  LABEL_DISABLED,
  LABEL_SCALE_OVERRIDE,
} from "./names.ts";

/** Job conditions that mean it has finished (or is about to: SuccessCriteriaMet, FailureTarget). */
const JOB_OUTCOMES: Readonly<Record<string, string>> = {
  Complete: "completed",
  SuccessCriteriaMet: "completed",
  Failed: "failed",
  FailureTarget: "failed",
};

/** "completed" or "failed" when the Job has finished, else `undefined`. */
function jobOutcome(job: KubeObject): string | undefined {
  for (const { type, status } of objectsAt(job, "status", "conditions")) {
    if (status === "True" && typeof type === "string" && Object.hasOwn(JOB_OUTCOMES, type)) {
      return JOB_OUTCOMES[type];
    }
  }
  return undefined;
}

/** A finished Job is not copied: its copy would run it again at cutover. */
export function skipFinishedJob(job: KubeObject): string | undefined {
  const outcome = jobOutcome(job);
  return outcome && `${outcome} Job`;
}

/** The DR copy of a Job that has since finished is deleted, so that cutover cannot run it again. */
export function removeFinishedJobCopy(job: KubeObject): string | undefined {
  const outcome = jobOutcome(job);
  return outcome && `its source Job ${outcome}: the copy would run it again at cutover`;
}

/** Labels the API server puts on a Job's pod template and selector; the DR server sets its own. */
const JOB_GENERATED_LABELS = [
  "controller-uid",
  "batch.kubernetes.io/controller-uid",
  "job-name",
  "batch.kubernetes.io/job-name",
];

/**
 * The transform of the kinds held by their replica count (Deployments, ReplicaSets,
 * ReplicationControllers; StatefulSets through `transformStatefulSet`): the replica count of the
 * source in an annotation, the DR count from the scale-override label or `scaleToZero`. A count a
 * cutover recorded on the source (when it scaled the source to zero) is the source's real count,
 * but only while the source stands at 0: a source running replicas (scaled up by hand after a
 * failed cutover) carries a stale record, and its live count wins.
 */
export const holdReplicas: KindTransform = (draft, ctx) => {
  const spec = ensureObjectAt(draft, "spec");
  const live = typeof spec.replicas === "number" ? spec.replicas : 1;
  const recorded = live === 0 ? recordedReplicas(draft) : undefined;
  const count = recorded ?? live;
  annotationsFor(draft)[ANNOTATION_ORIGINAL_REPLICAS] = String(count);
  const override = scaleOverride(draft);
  if (override === undefined) {
    spec.replicas = ctx.scaleToZero ? 0 : count;
    return {};
  }
  if ("count" in override) {
    spec.replicas = override.count;
    return {};
  }
  spec.replicas = 0;
  return {
    errors: [
      `Label ${LABEL_SCALE_OVERRIDE} must be a non-negative integer, not "${override.invalid}": DR gets 0 replicas`,
    ],
  };
};

/**
 * `spec.suspend` of the source in an annotation, and `true` on DR. The value a cutover recorded on
 * the source (when it suspended the source) is trusted only while the source is suspended: an
 * unsuspended source carries a stale record, and its live value wins.
 */
function suspend(draft: KubeObject): void {
  const spec = ensureObjectAt(draft, "spec");
  const live = spec.suspend === true;
  const recorded = draft.metadata.annotations?.[ANNOTATION_ORIGINAL_SUSPEND];
  const original = live && (recorded === "true" || recorded === "false") ? recorded === "true" : live;
  annotationsFor(draft)[ANNOTATION_ORIGINAL_SUSPEND] = String(original);
  spec.suspend = true; // also with scaleToZero false: a warm standby runs no schedules and no Jobs
}

/** A Job's generated selector and template labels name the source's Job uid: the DR server makes new ones. */
function dropJobSelector(draft: KubeObject): void {
  const spec = objectAt(draft, "spec");
  if (spec === undefined || spec.manualSelector === true) return;
  delete spec.selector;
  const labels = objectAt(spec, "template", "metadata", "labels");
  for (const key of JOB_GENERATED_LABELS) delete labels?.[key];
}

/** StatefulSet claim templates get the same class and access-mode maps as the PVCs. */
function mapClaimTemplates(draft: KubeObject, ctx: TransformContext): { warnings: string[] } {
  const warnings: string[] = [];
  for (const template of objectsAt(draft, "spec", "volumeClaimTemplates")) {
    delete template.status;
    const missing = mapClaimSpec(ensureObjectAt(template, "spec"), ctx);
    const name = objectAt(template, "metadata")?.name;
    if (missing !== undefined) {
      warnings.push(
        `StorageClass "${missing}" of volumeClaimTemplate "${String(name)}" does not exist on the DR cluster`,
      );
    }
  }
  return { warnings };
}

/**
 * A StatefulSet whose claim retention policy deletes claims when scaled gets `Retain` on DR (the
 * original recorded, and put back by cutover): whatever lowers its replicas on DR (a stage over a
 * live DR with --force, drift repair of a standby scaled up by hand) must not delete DR's claims.
 */
function holdClaimsOnDr(draft: KubeObject): void {
  const policy = objectAt(draft, "spec", "persistentVolumeClaimRetentionPolicy");
  if (policy?.whenScaled !== "Delete") return;
  policy.whenScaled = "Retain";
  annotationsFor(draft)[ANNOTATION_ORIGINAL_WHEN_SCALED] = "Delete";
}

/** A StatefulSet: its claims held on DR, its claim templates mapped, its replicas held. */
export const transformStatefulSet: KindTransform = (draft, ctx) => {
  holdClaimsOnDr(draft);
  const { warnings } = mapClaimTemplates(draft, ctx);
  return { ...holdReplicas(draft, ctx), warnings };
};

/** Parked also with scaleToZero false: a DaemonSet cannot run a reduced standby, only all or nothing. */
export const parkDaemonSet: KindTransform = (draft) => {
  ensureObjectAt(draft, "spec", "template", "spec", "nodeSelector")[LABEL_DISABLED] = "true";
  return {};
};

export const suspendCronJob: KindTransform = (draft) => {
  suspend(draft);
  return {};
};

export const transformJob: KindTransform = (draft) => {
  dropJobSelector(draft);
  suspend(draft);
  return {};
};
