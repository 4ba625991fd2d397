/** Which source objects are never copied (docs/sync-rules.md, "What is never copied"), and why. */
import type { KubeObject, ResourceType } from "../kube/types.ts";
import { objectAt, objectsAt } from "./_json.ts";
import { LABEL_IGNORE } from "./names.ts";

/** What the filter needs to know about the rest of the snapshot. */
export interface FilterContext {
  /** Names of the snapshot's Services that have no selector (their Endpoints are maintained by hand). */
  readonly servicesWithoutSelector?: ReadonlySet<string>;
}

/** Kinds never copied, by `group/Kind`. */
const NEVER_COPIED: Readonly<Record<string, string>> = {
  "/Pod": "Pods are never copied (their owners are)",
  "/Event": "Events are never copied",
  "events.k8s.io/Event": "Events are never copied",
  "discovery.k8s.io/EndpointSlice": "EndpointSlices are maintained by Kubernetes",
  "coordination.k8s.io/Lease": "Leases are never copied",
  "/PersistentVolume": "PersistentVolumes are never copied",
};

/** Objects Kubernetes creates in every namespace, by `group/Kind/name`. */
const CREATED_BY_KUBERNETES = new Set(["/ConfigMap/kube-root-ca.crt", "/ServiceAccount/default"]);

/** Job conditions that mean it has finished (or is about to: SuccessCriteriaMet, FailureTarget). */
const JOB_OUTCOMES: Readonly<Record<string, string>> = {
  Complete: "completed",
  SuccessCriteriaMet: "completed",
  Failed: "failed",
  FailureTarget: "failed",
};

function ownerPhrase(obj: KubeObject): string | undefined {
  const owners = obj.metadata.ownerReferences ?? [];
  const owner = owners.find((o) => o.controller === true) ?? owners[0];
  return owner && `owned by ${owner.kind} "${owner.name}"`;
}

/** "completed" or "failed" when the Job has finished, else `undefined`. */
export function jobOutcome(job: KubeObject): string | undefined {
  for (const { type, status } of objectsAt(job, "status", "conditions")) {
    if (status === "True" && typeof type === "string" && Object.hasOwn(JOB_OUTCOMES, type)) {
      return JOB_OUTCOMES[type];
    }
  }
  return undefined;
}

/**
 * Why `obj` (of `type`) is not copied, as a short sentence for the report, or `undefined` when it
 * is copied.
 */
export function filterObject(
  obj: KubeObject,
  type: ResourceType,
  context: FilterContext = {},
): string | undefined {
  const meta = obj.metadata;
  if (meta.labels?.[LABEL_IGNORE]?.toLowerCase() === "true") return `labelled ${LABEL_IGNORE}`;
  if (meta.deletionTimestamp) return "being deleted";
  const owned = ownerPhrase(obj);
  if (owned) return owned;
  const neverCopied = NEVER_COPIED[`${type.group}/${type.kind}`];
  if (neverCopied) return neverCopied;
  if (!type.namespaced) return "cluster-scoped objects are never copied";
  if (CREATED_BY_KUBERNETES.has(`${type.group}/${type.kind}/${meta.name}`)) {
    return "created by Kubernetes in every namespace";
  }
  if (type.group === "" && type.kind === "Secret" && obj.type === "kubernetes.io/service-account-token") {
    return "service account token Secrets are created by Kubernetes";
  }
  if (type.group === "" && type.kind === "Endpoints" && !context.servicesWithoutSelector?.has(meta.name)) {
    return "Endpoints are maintained by Kubernetes unless their Service has no selector";
  }
  if (type.group === "batch" && type.kind === "Job") {
    const outcome = jobOutcome(obj);
    if (outcome) return `${outcome} Job`;
  }
  return undefined;
}

/** Whether `service` selects no pods (so its Endpoints, if any, are maintained by hand). */
export function hasNoSelector(service: KubeObject): boolean {
  const selector = objectAt(service, "spec", "selector");
  return objectAt(service, "spec")?.type !== "ExternalName" &&
    (selector === undefined || Object.keys(selector).length === 0);
}
