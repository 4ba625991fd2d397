/**
 * The per-kind rules of the copy pipeline: apply order and, where a kind really differs, its
 * transform. One explicit list; kinds not listed (custom resources included) get `DEFAULT_RULE_ORDER`
 * and only the generic metadata handling of `transformObject`.
 */
import type { ResourceType } from "../kube/types.ts";
import type { KindRule, KindTransform } from "./kind_rule.ts";
import { DEFAULT_RULE_ORDER } from "./kind_rule.ts";
import { objectsAt } from "./_json.ts";
import { transformIngress } from "./transform_ingress.ts";
import { transformPvc } from "./transform_pvc.ts";
import { transformService } from "./transform_service.ts";
import { transformWorkload } from "./transform_workload.ts";

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

export const KIND_RULES: readonly KindRule[] = [
  { group: "apiextensions.k8s.io", kind: "CustomResourceDefinition", order: 10 },
  { group: "", kind: "ServiceAccount", order: 20, transform: transformServiceAccount },
  { group: "rbac.authorization.k8s.io", kind: "Role", order: 21 },
  { group: "rbac.authorization.k8s.io", kind: "RoleBinding", order: 22, transform: transformRoleBinding },
  { group: "", kind: "ConfigMap", order: 30 },
  { group: "", kind: "Secret", order: 30 },
  { group: "", kind: "PersistentVolumeClaim", order: 40, transform: transformPvc },
  { group: "", kind: "Service", order: 50, transform: transformService },
  { group: "", kind: "Endpoints", order: 51 },
  { group: "networking.k8s.io", kind: "NetworkPolicy", order: 55 },
  { group: "policy", kind: "PodDisruptionBudget", order: 55 },
  { group: "apps", kind: "Deployment", order: 60, transform: transformWorkload },
  { group: "apps", kind: "StatefulSet", order: 60, transform: transformWorkload },
  { group: "apps", kind: "DaemonSet", order: 60, transform: transformWorkload },
  { group: "batch", kind: "CronJob", order: 60, transform: transformWorkload },
  { group: "batch", kind: "Job", order: 60, transform: transformWorkload },
  { group: "networking.k8s.io", kind: "Ingress", order: 80, transform: transformIngress },
  { group: "autoscaling", kind: "HorizontalPodAutoscaler", order: 90 },
];

const RULES_BY_KIND = new Map(KIND_RULES.map((rule) => [`${rule.group}/${rule.kind}`, rule]));

export type { KindRule, KindTransform, KindTransformResult } from "./kind_rule.ts";
export { DEFAULT_RULE_ORDER, NAMESPACE_ORDER } from "./kind_rule.ts";

/** The rule of a kind; kinds not in `KIND_RULES` get the default order and no transform. */
export function kindRuleFor(type: Pick<ResourceType, "group" | "kind">): KindRule {
  return RULES_BY_KIND.get(`${type.group}/${type.kind}`) ??
    { group: type.group, kind: type.kind, order: DEFAULT_RULE_ORDER };
}
