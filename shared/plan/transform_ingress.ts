/** Ingresses: copied as they are, with the optional host and class maps of the replication. */
import type { KubeObject } from "../kube/types.ts";
import type { TransformContext } from "./contracts.ts";
import type { KindTransformResult } from "./kind_rule.ts";
import { objectAt, objectsAt } from "./_json.ts";
import { INGRESS_CLASS_ANNOTATION } from "./_kubernetes_names.ts";

function mapped(map: Readonly<Record<string, string>>, value: unknown): unknown {
  return typeof value === "string" && Object.hasOwn(map, value) ? map[value] : value;
}

/**
 * Rewrites `rules[].host` and `tls[].hosts` through `ingressHostMap` (exact match), and
 * `ingressClassName` (and the older `kubernetes.io/ingress.class` annotation) through `ingressClassMap`.
 */
export function transformIngress(draft: KubeObject, ctx: TransformContext): KindTransformResult {
  const spec = objectAt(draft, "spec");
  if (spec === undefined) return {};
  for (const rule of objectsAt(spec, "rules")) {
    if (rule.host !== undefined) rule.host = mapped(ctx.ingressHostMap, rule.host);
  }
  for (const tls of objectsAt(spec, "tls")) {
    if (Array.isArray(tls.hosts)) tls.hosts = tls.hosts.map((host) => mapped(ctx.ingressHostMap, host));
  }
  if (spec.ingressClassName !== undefined) {
    spec.ingressClassName = mapped(ctx.ingressClassMap, spec.ingressClassName);
  }
  const annotations = draft.metadata.annotations;
  const legacyClass = mapped(ctx.ingressClassMap, annotations?.[INGRESS_CLASS_ANNOTATION]);
  if (annotations && typeof legacyClass === "string") annotations[INGRESS_CLASS_ANNOTATION] = legacyClass;
  return {};
}
