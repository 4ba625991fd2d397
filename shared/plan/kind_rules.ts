/**
 * The per-kind rules: everything the copy pipeline (filter, transform, planner, apply) and the
 * scaling steps of cutover and failback do differently for a kind, in one explicit list (the
 * contract, field by field, is `kind_rule.ts`). The handlers are generic and read this table:
 * `filterObject`, `transformObject`, `buildDesiredState`, `planSync`, `prepareSync`, `applyPlan`
 * and `scale_workloads.ts`. Kinds not listed (custom resources included) get `DEFAULT_RULE_ORDER`
 * and only the generic handling.
 *
 * Kind-specific code that remains outside this table, and why:
 * - the hooks in `transform_*.ts` (Services, claims, workloads, Ingresses): the table names them, a
 *   module only for a kind that really differs;
 * - `sync_crds.ts` and `dest_namespace.ts`: the CRDs and the DR Namespace are not objects of a copied
 *   type but steps of their own, before the plan;
 * - `scale_decisions.ts`: `isLiveOnDr` branches on how a workload stands by (`scale.by`: replicas,
 *   suspend, park), not on its kind; `keepingClaims` and `restoringClaims` act on a claim retention
 *   policy or its record, `guardedPatch` on a replica count: what the object holds (only a
 *   StatefulSet has the policy; CronJobs, Jobs and DaemonSets have no replica count);
 * - `scale_workloads.ts` groups the workloads by `scale.by` (the `Workloads` the operations read);
 * - `helm_records.ts`: Helm's release records are recognised by what a Secret holds (its `type`
 *   `helm.sh/release.v1`, or its name and Helm's labels in a metadata listing), not by its kind: the
 *   planner and failback's copy-back treat a record Helm rewrote (without provenance) as the copy;
 * - `copy_back.ts`: the way back reads the scaling fields of a workload by `scale.by` (its replica
 *   count, `suspend` or parking, and their records), which the source keeps, as `scale_decisions.ts` does.
 */
import type { KubeObject, ResourceType } from "../kube/types.ts";
import type { KindRule, KindTransform } from "./kind_rule.ts";
import { DEFAULT_RULE_ORDER } from "./kind_rule.ts";
import { objectsAt } from "./_json.ts";
import { transformIngress } from "./transform_ingress.ts";
import { holdClaim, transformPvc } from "./transform_pvc.ts";
import { observeService, transformService } from "./transform_service.ts";
import {
  holdReplicas,
  parkDaemonSet,
  removeFinishedJobCopy,
  skipFinishedJob,
  suspendCronJob,
  transformJob,
  transformStatefulSet,
} from "./transform_workload.ts";

/** RoleBinding subjects of the source namespace are rewritten to the DR namespace. */
const transformRoleBinding: KindTransform = (draft, ctx) => {
  for (const subject of objectsAt(draft, "subjects")) {
    if (subject.namespace === ctx.sourceNamespace) subject.namespace = ctx.destNamespace;
  }
  return {};
};

/** The token Secrets Kubernetes generated for the ServiceAccount (not copied) are unlisted. */
const transformServiceAccount: KindTransform = (draft) => {
  const prefix = `${draft.metadata.name}-token-`;
  if (Array.isArray(draft.secrets)) {
    draft.secrets = objectsAt(draft, "secrets").filter((s) =>
      !(typeof s.name === "string" && s.name.startsWith(prefix))
    );
  }
  return {};
};

const skipTokenSecret = (secret: KubeObject) =>
  secret.type === "kubernetes.io/service-account-token"
    ? "service account token Secrets are created by Kubernetes"
    : undefined;

/** Endpoints are copied only for the Services without a selector (the others' are Kubernetes'). */
const skipMaintainedEndpoints: KindRule["skip"] = (endpoints, ctx) =>
  ctx.servicesWithoutSelector?.has(endpoints.metadata.name)
    ? undefined
    : "Endpoints are maintained by Kubernetes unless their Service has no selector";

/**
 * The marks of dr-syncer's own objects in a DR namespace: its run records (ConfigMaps
 * `dr-syncer-run-<run id>`, labelled and annotated as below) and its lock and state (the Lease
 * `dr-syncer`, annotated `dr-syncer.io/state`). A source object that carries one is never copied,
 * whatever its kind, so that no copy can pass for the runtime's record or lock (the runtime trusts a
 * record only when no copy could have made it: see `shared/runs/run_record.ts`).
 */
export const OWN_OBJECT_LABELS: Readonly<Record<string, string | undefined>> = {
  "dr-syncer.io/run-of": undefined, // any value
  "app.kubernetes.io/component": "run-record",
};
export const OWN_OBJECT_ANNOTATIONS: readonly string[] = ["dr-syncer.io/run-summary", "dr-syncer.io/state"];
/** The names of the run records (a run id follows). */
export const RUN_RECORD_NAME_PREFIX = "dr-syncer-run-";

/** Which of dr-syncer's own marks `obj` carries, as the report says it, or `undefined`. */
export function ownObjectMark(obj: KubeObject): string | undefined {
  const { labels = {}, annotations = {} } = obj.metadata;
  for (const [key, value] of Object.entries(OWN_OBJECT_LABELS)) {
    if (Object.hasOwn(labels, key) && (value === undefined || labels[key] === value)) {
      return `carries dr-syncer's own label ${key}${value === undefined ? "" : `=${value}`}`;
    }
  }
  const annotation = OWN_OBJECT_ANNOTATIONS.find((key) => Object.hasOwn(annotations, key));
  return annotation && `carries dr-syncer's own annotation ${annotation}`;
}

const OWN_OBJECT_REASON =
  "the marks of dr-syncer's run records and lock are never copied, so no copy passes for one";

/** A ConfigMap named as a run record is never copied (the runtime writes those on DR itself). */
const skipRunRecordName: KindRule["skip"] = (configMap) =>
  configMap.metadata.name.startsWith(RUN_RECORD_NAME_PREFIX)
    ? `named like a dr-syncer run record (${RUN_RECORD_NAME_PREFIX}...): ${OWN_OBJECT_REASON}`
    : undefined;

/** An earlier DR copy of such a ConfigMap (an older version copied it) is deleted: it could pass for a record. */
const removeOwnObjectCopy: KindRule["removeCopy"] = (configMap) =>
  ownObjectMark(configMap) !== undefined || configMap.metadata.name.startsWith(RUN_RECORD_NAME_PREFIX)
    ? "its source carries dr-syncer's own marks: a copy could pass for a run record"
    : undefined;

/** Why `obj` is not copied for carrying dr-syncer's own marks (any kind), or `undefined`. */
export function ownObjectRefusal(obj: KubeObject): string | undefined {
  const mark = ownObjectMark(obj);
  return mark && `${mark}: ${OWN_OBJECT_REASON}`;
}

/** A kind that is never copied (never planned either: its order is moot). */
const never = (group: string, kind: string, neverCopied: string): KindRule => ({
  group,
  kind,
  order: DEFAULT_RULE_ORDER,
  neverCopied,
});

export const KIND_RULES: readonly KindRule[] = [
  never("", "Pod", "Pods are never copied (their owners are)"),
  never("", "Event", "Events are never copied"),
  never("events.k8s.io", "Event", "Events are never copied"),
  never("discovery.k8s.io", "EndpointSlice", "EndpointSlices are maintained by Kubernetes"),
  never("coordination.k8s.io", "Lease", "Leases are never copied"),
  never("", "PersistentVolume", "PersistentVolumes are never copied"),
  { group: "apiextensions.k8s.io", kind: "CustomResourceDefinition", order: 10 },
  {
    group: "",
    kind: "ServiceAccount",
    order: 20,
    transform: transformServiceAccount,
    createdByKubernetes: ["default"],
  },
  { group: "rbac.authorization.k8s.io", kind: "Role", order: 21 },
  { group: "rbac.authorization.k8s.io", kind: "RoleBinding", order: 22, transform: transformRoleBinding },
  {
    group: "",
    kind: "ConfigMap",
    order: 30,
    createdByKubernetes: ["kube-root-ca.crt"],
    skip: skipRunRecordName,
    removeCopy: removeOwnObjectCopy,
    contentMaps: ["data", "binaryData"],
  },
  { group: "", kind: "Secret", order: 30, skip: skipTokenSecret, contentMaps: ["data"] },
  {
    group: "",
    kind: "PersistentVolumeClaim",
    order: 40,
    transform: transformPvc,
    checksStorageClasses: true,
    holdExisting: holdClaim,
    checkDrift: false,
    pruneNeeds: {
      option: "pruneClaims",
      keptReason: "its source claim is gone",
      keptWarning:
        "Kept its DR copy: claims (and their data) are pruned only with pruneClaims (--prune-claims)",
    },
    neverRecreate:
      "a claim is never recreated (its data would be lost): delete the DR claim by hand to recreate it",
  },
  {
    group: "",
    kind: "Service",
    order: 50,
    transform: transformService,
    readsManagedFields: true,
    observe: observeService,
  },
  { group: "", kind: "Endpoints", order: 51, skip: skipMaintainedEndpoints, filteredLast: true },
  { group: "networking.k8s.io", kind: "NetworkPolicy", order: 55 },
  { group: "policy", kind: "PodDisruptionBudget", order: 55 },
  {
    group: "apps",
    kind: "Deployment",
    order: 60,
    transform: holdReplicas,
    scale: { by: "replicas", resource: "deployments", shortNames: ["deploy"] },
  },
  {
    group: "apps",
    kind: "StatefulSet",
    order: 60,
    transform: transformStatefulSet,
    scale: { by: "replicas", resource: "statefulsets", shortNames: ["sts"] },
  },
  {
    group: "apps",
    kind: "DaemonSet",
    order: 60,
    transform: parkDaemonSet,
    scale: { by: "park", resource: "daemonsets", shortNames: ["ds"] },
  },
  // not default types; when named, an unowned one stands by like a Deployment (owned ones are their owner's)
  {
    group: "apps",
    kind: "ReplicaSet",
    order: 60,
    transform: holdReplicas,
    scale: { by: "replicas", resource: "replicasets", shortNames: ["rs"] },
  },
  {
    group: "",
    kind: "ReplicationController",
    order: 60,
    transform: holdReplicas,
    scale: { by: "replicas", resource: "replicationcontrollers", shortNames: ["rc"], mapSelector: true },
  },
  {
    group: "batch",
    kind: "CronJob",
    order: 60,
    transform: suspendCronJob,
    scale: { by: "suspend", resource: "cronjobs", shortNames: ["cj"] },
  },
  {
    group: "batch",
    kind: "Job",
    order: 60,
    transform: transformJob,
    skip: skipFinishedJob,
    removeCopy: removeFinishedJobCopy,
    scale: { by: "suspend", resource: "jobs" },
  },
  { group: "networking.k8s.io", kind: "Ingress", order: 80, transform: transformIngress },
  { group: "autoscaling", kind: "HorizontalPodAutoscaler", order: 90 },
];

/** The orders a write of `order` waits for, besides the namespace's (docs/sync-rules.md, "Writing"). */
const WRITE_WAITS_FOR: ReadonlyMap<number, readonly number[]> = new Map([
  // the kinds a workload refers to or is governed by: nothing checks a reference among them when written
  [20, []], // ServiceAccounts
  [21, []], // Roles
  [22, [20, 21]], // RoleBindings: their Roles (and the accounts they name)
  [30, []], // ConfigMaps, Secrets
  [40, []], // PersistentVolumeClaims
  [50, []], // Services
  [51, [50]], // Endpoints: their Services
  [55, []], // NetworkPolicies, PodDisruptionBudgets
  // workloads: what their pods would use and the policies over them (Services are found by name, later)
  [60, [20, 21, 22, 30, 40, 55]],
  [80, [30, 50, 51]], // Ingresses: the Services and the TLS Secrets they name
]);

/**
 * Whether a write of `order` waits for the writes of the lower order `other`: the namespace and
 * CRDs go before everything; the kinds of `WRITE_WAITS_FOR` wait for what it lists; every other
 * kind (custom resources, HorizontalPodAutoscalers) for everything before it.
 */
export function writeWaitsFor(order: number, other: number): boolean {
  if (other >= order) return false;
  if (other < 20) return true;
  return WRITE_WAITS_FOR.get(order)?.includes(other) ?? other < order;
}

const RULES_BY_KIND = new Map(KIND_RULES.map((rule) => [`${rule.group}/${rule.kind}`, rule]));

export type {
  FilterFacts,
  HoldExisting,
  KindRule,
  KindScale,
  KindTransform,
  KindTransformResult,
} from "./kind_rule.ts";
export { DEFAULT_RULE_ORDER, NAMESPACE_ORDER } from "./kind_rule.ts";

/** The rule of a kind; kinds not in `KIND_RULES` get the default order and no transform. */
export function kindRuleFor(type: Pick<ResourceType, "group" | "kind">): KindRule {
  return RULES_BY_KIND.get(`${type.group}/${type.kind}`) ??
    { group: type.group, kind: type.kind, order: DEFAULT_RULE_ORDER };
}

/** The rule of an object's kind, found from its apiVersion and kind. */
export function kindRuleOf(obj: Pick<KubeObject, "apiVersion" | "kind">): KindRule {
  const slash = obj.apiVersion.indexOf("/");
  return kindRuleFor({ group: slash < 0 ? "" : obj.apiVersion.slice(0, slash), kind: obj.kind });
}

/** A workload type the scaling steps list, with how it stands by. */
export interface ScaledType {
  readonly type: ResourceType;
  readonly scale: NonNullable<KindRule["scale"]>;
}

/** The workload types of the table (`scale`), as the scaling steps list them (at `v1`). */
export const SCALED_TYPES: readonly ScaledType[] = KIND_RULES.flatMap(({ group, kind, scale }) =>
  scale ? [{ type: { group, version: "v1", resource: scale.resource, kind, namespaced: true }, scale }] : []
);

/** Every name a user may give a scaled type: plural, singular (the kind), short names, each with `.group`. */
export function scaledTypeNames({ type, scale }: ScaledType): string[] {
  const names = [scale.resource, type.kind.toLowerCase(), ...(scale.shortNames ?? [])];
  return type.group === "" ? names : names.flatMap((n) => [n, `${n}.${type.group}`]);
}
