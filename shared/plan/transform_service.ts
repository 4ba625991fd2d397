/**
 * Services (docs/sync-rules.md, "Services"): cluster-allocated addresses and ports stay behind.
 * Also which Services have no selector: their Endpoints are maintained by hand, and copied.
 */
import type { KubeObject } from "../kube/types.ts";
import type { TransformContext } from "./contracts.ts";
import type { FilterFacts, KindTransformResult } from "./kind_rule.ts";
import { isJsonObject, objectAt, objectsAt } from "./_json.ts";
import { LAST_APPLIED_ANNOTATION } from "./_kubernetes_names.ts";

/**
 * Field managers whose fields are not the user's choices: server-side apply's placeholder owns
 * every field that existed before the first apply, allocated nodePorts included.
 */
const NOT_USER_MANAGERS = new Set(["before-first-apply"]);

interface ExplicitNodePorts {
  /** `port/protocol` of the ports whose nodePort the user set. */
  readonly ports: Set<string>;
  healthCheck: boolean;
  readonly warnings: string[];
}

/** Service ports are keyed by port and protocol (protocol defaults to TCP). */
function portKey(port: unknown, protocol: unknown): string {
  return `${String(port)}/${typeof protocol === "string" ? protocol : "TCP"}`;
}

function readLastApplied(draft: KubeObject, into: ExplicitNodePorts): void {
  const text = draft.metadata.annotations?.[LAST_APPLIED_ANNOTATION];
  if (text === undefined) return;
  let applied: unknown;
  try {
    applied = JSON.parse(text);
  } catch (error) {
    into.warnings.push(
      `Cannot read the annotation ${LAST_APPLIED_ANNOTATION}: ${
        error instanceof Error ? error.message : String(error)
      }`,
    );
    return;
  }
  const spec = objectAt(applied, "spec");
  if (spec?.healthCheckNodePort !== undefined) into.healthCheck = true;
  for (const port of objectsAt(spec, "ports")) {
    if (port.nodePort !== undefined) into.ports.add(portKey(port.port, port.protocol));
  }
}

function readManagedFields(draft: KubeObject, into: ExplicitNodePorts): void {
  for (const entry of objectsAt(draft, "metadata", "managedFields")) {
    if (typeof entry.manager === "string" && NOT_USER_MANAGERS.has(entry.manager)) continue;
    const spec = objectAt(entry, "fieldsV1", "f:spec");
    if (spec?.["f:healthCheckNodePort"] !== undefined) into.healthCheck = true;
    for (const [key, fields] of Object.entries(objectAt(spec, "f:ports") ?? {})) {
      if (!key.startsWith("k:") || !isJsonObject(fields) || fields["f:nodePort"] === undefined) continue;
      try {
        const id: unknown = JSON.parse(key.slice(2));
        if (isJsonObject(id)) into.ports.add(portKey(id.port, id.protocol));
      } catch {
        // Not a list-map key this code understands: that port's nodePort is not known to be explicit.
      }
    }
  }
}

/**
 * Removes clusterIP/clusterIPs (unless headless), externalIPs, loadBalancerIP, ipFamilies and
 * ipFamilyPolicy, and the nodePorts the user did not set (explicit ones show in the last-applied
 * annotation or in managedFields) unless `preserveNodePorts`. ExternalName Services are left as they are.
 */
export function transformService(draft: KubeObject, ctx: TransformContext): KindTransformResult {
  const spec = objectAt(draft, "spec");
  if (spec === undefined || spec.type === "ExternalName") return {};
  if (spec.clusterIP !== "None") {
    delete spec.clusterIP;
    delete spec.clusterIPs;
  }
  delete spec.externalIPs;
  delete spec.loadBalancerIP;
  delete spec.ipFamilies;
  delete spec.ipFamilyPolicy;
  if (ctx.preserveNodePorts) return {};

  const explicit: ExplicitNodePorts = { ports: new Set(), healthCheck: false, warnings: [] };
  readLastApplied(draft, explicit);
  readManagedFields(draft, explicit);
  for (const port of objectsAt(spec, "ports")) {
    if (!explicit.ports.has(portKey(port.port, port.protocol))) delete port.nodePort;
  }
  if (!explicit.healthCheck) delete spec.healthCheckNodePort;
  return { warnings: explicit.warnings };
}

/** Whether `service` selects no pods (so its Endpoints, if any, are maintained by hand). */
export function hasNoSelector(service: KubeObject): boolean {
  const selector = objectAt(service, "spec", "selector");
  return objectAt(service, "spec")?.type !== "ExternalName" &&
    (selector === undefined || Object.keys(selector).length === 0);
}

/** Notes the Services without a selector, whose Endpoints the filter lets through. */
export function observeService(service: KubeObject, facts: FilterFacts): void {
  if (hasNoSelector(service)) facts.servicesWithoutSelector.add(service.metadata.name);
}
