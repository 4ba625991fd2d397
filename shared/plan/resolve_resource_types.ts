/**
 * Turns the type names of a replication (defaults, `resourceTypes`, `excludeResourceTypes`,
 * `includeCustomResources`) into the served resource types to copy, through what discovery reports.
 */
import { InvalidInputError } from "../errors.ts";
import { qualifiedName, type ResourceType, typeKey } from "../kube/types.ts";
import { DEFAULT_RESOURCE_TYPES } from "./default_resource_types.ts";

export interface ResolveResourceTypesRequest {
  /** Replaces the defaults. */
  readonly resourceTypes?: readonly string[] | undefined;
  /** Removed from the result; wins over every other list. */
  readonly excludeResourceTypes?: readonly string[] | undefined;
  /** `true`: every namespaced type outside the built-in groups; a list: those named. */
  readonly includeCustomResources?: boolean | readonly string[] | undefined;
}

/** Names that match no type the cluster serves. */
export class UnknownResourceTypeError extends InvalidInputError {
  override readonly name = "UnknownResourceTypeError";
  /** The unknown names, as given. */
  readonly names: string[];
  /** The plural names of the namespaced types the cluster serves and dr-syncer can copy, sorted. */
  readonly served: string[];

  constructor(names: readonly string[], served: readonly string[]) {
    const quoted = names.map((n) => `"${n}"`).join(", ");
    super(
      `Unknown resource ${names.length === 1 ? "type" : "types"} ${quoted}: the cluster serves ${
        served.join(", ")
      }`,
    );
    this.names = [...names];
    this.served = [...served];
  }
}

/** Names that match a served type dr-syncer cannot copy (cluster-scoped, or not listable and patchable). */
export class UnsupportedResourceTypeError extends InvalidInputError {
  override readonly name = "UnsupportedResourceTypeError";
  readonly problems: { readonly name: string; readonly reason: string }[];

  constructor(problems: readonly { readonly name: string; readonly reason: string }[]) {
    const detail = problems.map((p) => `"${p.name}" ${p.reason}`).join(", ");
    super(`Cannot copy resource ${problems.length === 1 ? "type" : "types"}: ${detail}`);
    this.problems = [...problems];
  }
}

/** Groups served by Kubernetes itself; everything else is a custom resource (CRD or aggregated API). */
const BUILT_IN_GROUPS = new Set(["", "apps", "batch", "autoscaling", "policy", "extensions"]);
/** `*.k8s.io` groups that are installed as CRDs, hence custom resources. */
const CUSTOM_K8S_IO_GROUPS = new Set(["gateway.networking.k8s.io"]);

export function isBuiltInGroup(group: string): boolean {
  if (BUILT_IN_GROUPS.has(group)) return true;
  return group.endsWith(".k8s.io") && !CUSTOM_K8S_IO_GROUPS.has(group);
}

/** Why dr-syncer cannot copy objects of `type`, or `undefined` when it can. */
function unsupportedReason(type: ResourceType): string | undefined {
  if (!type.namespaced) return `(${qualifiedName(type)}) is cluster-scoped`;
  const verbs = type.verbs;
  if (verbs && !(verbs.includes("list") && verbs.includes("patch"))) {
    return `(${qualifiedName(type)}) cannot be listed and patched`;
  }
  return undefined;
}

/** Names that designate `type` without its short names, lower case. */
function fullNames(type: ResourceType): string[] {
  const bare = [type.resource, type.singular, type.kind.toLowerCase()].filter((n): n is string => !!n);
  if (type.group === "") return bare;
  return [
    ...bare,
    ...bare.map((n) => `${n}.${type.group}`),
    `${type.resource}.${type.version}.${type.group}`,
  ];
}

/** Core group first, then the other built-in groups, then custom resources (as kubectl prefers). */
function groupRank(type: ResourceType): number {
  return type.group === "" ? 0 : isBuiltInGroup(type.group) ? 1 : 2;
}

/**
 * The served type `name` designates: plural, singular, kind, `resource.group`, `kind.group` or
 * `resource.version.group` first, short names second; among several, the core group wins, then the
 * built-in groups, then discovery order.
 */
function findType(served: readonly ResourceType[], name: string): ResourceType | undefined {
  const wanted = name.toLowerCase();
  const byName = served.filter((t) => fullNames(t).includes(wanted));
  const matches = byName.length > 0 ? byName : served.filter((t) => t.shortNames?.includes(wanted));
  return matches.reduce<ResourceType | undefined>(
    (best, t) => (best === undefined || groupRank(t) < groupRank(best) ? t : best),
    undefined,
  );
}

function cleanNames(names: readonly string[] | undefined): string[] {
  return (names ?? []).map((n) => n.trim()).filter((n) => n !== "");
}

/**
 * The types to copy, without duplicates, in the order asked (defaults or `resourceTypes`, then custom
 * resources). Throws `UnknownResourceTypeError` when a name matches nothing served, and
 * `UnsupportedResourceTypeError` when a name given by the user matches a type that cannot be copied.
 * Defaults the cluster does not serve are left out.
 */
export function resolveResourceTypes(
  served: readonly ResourceType[],
  request: ResolveResourceTypesRequest = {},
): ResourceType[] {
  const candidates = served.filter((t) => !t.resource.includes("/"));
  const unknown: string[] = [];
  const resolve = (names: readonly string[]): { name: string; type: ResourceType }[] =>
    names.flatMap((name) => {
      const type = findType(candidates, name);
      if (type === undefined) unknown.push(name);
      return type === undefined ? [] : [{ name, type }];
    });

  const named = [
    ...resolve(cleanNames(request.resourceTypes)),
    ...resolve(
      Array.isArray(request.includeCustomResources) ? cleanNames(request.includeCustomResources) : [],
    ),
  ];
  const excluded = new Set(
    resolve(cleanNames(request.excludeResourceTypes)).map(({ type }) => typeKey(type)),
  );
  if (unknown.length > 0) {
    const copyable = candidates.filter((t) => unsupportedReason(t) === undefined).map((t) => t.resource);
    throw new UnknownResourceTypeError(unknown, [...new Set(copyable)].sort());
  }
  const problems = named.flatMap(({ name, type }) => {
    const reason = unsupportedReason(type);
    return reason === undefined || excluded.has(typeKey(type)) ? [] : [{ name, reason }];
  });
  if (problems.length > 0) throw new UnsupportedResourceTypeError(problems);

  const base = request.resourceTypes === undefined
    ? DEFAULT_RESOURCE_TYPES.flatMap((name) => findType(candidates, name) ?? [])
    : [];
  const custom = request.includeCustomResources === true
    ? candidates.filter((t) => !isBuiltInGroup(t.group) && unsupportedReason(t) === undefined)
    : [];
  const result = new Map<string, ResourceType>();
  for (const type of [...base, ...named.map(({ type }) => type), ...custom]) {
    const key = typeKey(type);
    if (!excluded.has(key) && !result.has(key)) result.set(key, type);
  }
  return [...result.values()];
}
