/**
 * Which version a copied type is read and written at when the two clusters serve it differently (DR runs
 * another Kubernetes version, a CRD moved on on one side): the source's most preferred version that DR also
 * serves, on both sides, so the source is read at a version DR accepts. A type both serve at no common version,
 * or that DR does not serve, is not copied: each of its objects fails with a reason naming the type and the
 * versions (`unservedReason`). Pure.
 */
import { qualifiedName, type ResourceType, typeKey } from "../kube/types.ts";
import { isBuiltInGroup } from "./resolve_resource_types.ts";

/** The versions a cluster serves a type at, the preferred first. */
export function servedVersions(type: ResourceType): readonly string[] {
  return type.versions?.length ? type.versions : [type.version];
}

function groupVersions(type: ResourceType, versions: readonly string[]): string {
  return versions.map((v) => (type.group === "" ? v : `${type.group}/${v}`)).join(", ");
}

export interface PairedTypes {
  /** The copied types, each at the version both clusters use for it. */
  readonly types: ResourceType[];
  /** DR's discovery, its entry for each copied type at that same version; types with no common version left out. */
  readonly drServed: ResourceType[];
  /** Per copied type DR serves at no version the source serves (`typeKey`): why its objects are not copied. */
  readonly mismatched: ReadonlyMap<string, string>;
}

/** Pairs the copied `types` (the source's discovery) with DR's discovery, cluster `dr` by name. */
export function pairServedVersions(
  types: readonly ResourceType[],
  drServed: readonly ResourceType[],
  dr: string,
): PairedTypes {
  const onDr = new Map(drServed.map((t) => [typeKey(t), t]));
  const chosen = new Map<string, string>();
  const mismatched = new Map<string, string>();
  const paired = types.map((type) => {
    const drType = onDr.get(typeKey(type));
    if (!drType) return type;
    const drVersions = servedVersions(drType);
    const version = servedVersions(type).find((v) => drVersions.includes(v));
    if (version === undefined) {
      mismatched.set(
        typeKey(type),
        `Cluster "${dr}" serves ${qualifiedName(type)} only at ${
          groupVersions(drType, drVersions)
        }, the source at ${
          groupVersions(type, servedVersions(type))
        }: no version both serve, so it is not copied (serve a common version on both sides${
          isBuiltInGroup(type.group) ? ", or upgrade the older cluster" : " in the CustomResourceDefinitions"
        })`,
      );
      return type;
    }
    chosen.set(typeKey(type), version);
    return version === type.version ? type : { ...type, version };
  });
  const drTypes = drServed.flatMap((t) => {
    if (mismatched.has(typeKey(t))) return [];
    const version = chosen.get(typeKey(t));
    return [version === undefined || version === t.version ? t : { ...t, version }];
  });
  return { types: paired, drServed: drTypes, mismatched };
}

/** Why objects of `type` are not copied to cluster `dr`, which does not serve it (`mismatched` said when it does). */
export function unservedReason(
  type: ResourceType,
  dr: string,
  mismatched?: ReadonlyMap<string, string>,
): string {
  const known = mismatched?.get(typeKey(type));
  if (known !== undefined) return known;
  const at = groupVersions(type, servedVersions(type));
  return isBuiltInGroup(type.group)
    ? `Cluster "${dr}" does not serve ${
      qualifiedName(type)
    } (the source serves it at ${at}): its Kubernetes version or its enabled APIs lack it, so it is not copied`
    : `Cluster "${dr}" does not serve ${
      qualifiedName(type)
    } (the source serves it at ${at}): install its CustomResourceDefinition there first, or set syncCRDs`;
}
