import type { KubeClient } from "./kube_client.ts";
import type { ResourceType } from "./types.ts";
import { withRetry } from "./retry.ts";

const AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";

interface DiscoveryResource {
  resource: string;
  responseKind?: { group?: string; version?: string; kind?: string };
  scope?: "Namespaced" | "Cluster";
  singularResource?: string;
  shortNames?: string[];
  verbs?: string[];
}
interface GroupDiscoveryList {
  kind?: string;
  items?: {
    metadata?: { name?: string };
    versions?: { version: string; resources?: DiscoveryResource[] }[];
  }[];
}
interface ApiResourceList {
  groupVersion: string;
  resources: {
    name: string;
    singularName?: string;
    namespaced: boolean;
    kind: string;
    verbs?: string[];
    shortNames?: string[];
  }[];
}
interface ApiGroupList {
  groups: {
    name: string;
    versions?: { groupVersion: string; version: string }[];
    preferredVersion?: { groupVersion: string; version: string };
  }[];
}

/**
 * Per group, every resource at the most preferred version that serves it, with all the versions that do:
 * the server lists a group's versions preferred first. A resource served only at an older version of its
 * group (a CRD that moved on, an alpha API) is found there.
 */
function byResource(
  group: string,
  versions: readonly { version: string; types: Omit<ResourceType, "versions">[] }[],
): ResourceType[] {
  const found = new Map<string, { type: Omit<ResourceType, "versions">; versions: string[] }>();
  for (const { version, types } of versions) {
    for (const type of types) {
      const seen = found.get(type.resource);
      if (seen) seen.versions.push(version);
      else found.set(type.resource, { type, versions: [version] });
    }
  }
  return [...found.values()].map(({ type, versions }) => ({ ...type, group, versions }));
}

function fromAggregated(list: GroupDiscoveryList): ResourceType[] {
  return (list.items ?? []).flatMap((item) => {
    const group = item.metadata?.name ?? "";
    return byResource(
      group,
      (item.versions ?? []).map(({ version, resources }) => ({
        version,
        types: (resources ?? []).map((r) => ({
          group,
          version,
          resource: r.resource,
          kind: r.responseKind?.kind ?? "",
          namespaced: r.scope === "Namespaced",
          ...(r.singularResource ? { singular: r.singularResource } : {}),
          shortNames: r.shortNames ?? [],
          verbs: r.verbs ?? [],
        })),
      })),
    );
  });
}

function fromResourceList(
  group: string,
  version: string,
  list: ApiResourceList,
): Omit<ResourceType, "versions">[] {
  return list.resources.filter((r) => !r.name.includes("/")).map((r) => ({
    group,
    version,
    resource: r.name,
    kind: r.kind,
    namespaced: r.namespaced,
    ...(r.singularName ? { singular: r.singularName } : {}),
    shortNames: r.shortNames ?? [],
    verbs: r.verbs ?? [],
  }));
}

/** Clients whose discovery is kept, and for how long (a long-running runtime's clients). */
const kept = new WeakMap<
  KubeClient,
  { readonly ttlMs: number; last?: { at: number; types: Promise<ResourceType[]> } }
>();

/**
 * Keeps `client`'s discovery for `ttlMs` across calls (the runtime's clients, which run many operations:
 * discovery is two requests and the largest answers of a small run). `forgetDiscovery` drops it when a type
 * is known to have appeared or vanished.
 */
export function cacheDiscovery(client: KubeClient, ttlMs: number): void {
  if (!kept.has(client)) kept.set(client, { ttlMs });
}

/** Drops `client`'s kept discovery: the next `discoverResources` reads it again. */
export function forgetDiscovery(client: KubeClient): void {
  const entry = kept.get(client);
  if (entry) delete entry.last;
}

/** How long `client`'s discovery is kept, or undefined when it is read each time. */
export function keptDiscoveryTtlMs(client: KubeClient): number | undefined {
  return kept.get(client)?.ttlMs;
}

/** Whether `client`'s discovery is kept (a result may be up to its TTL old). */
export function discoveryIsKept(client: KubeClient): boolean {
  return kept.has(client);
}

/**
 * Lists every resource type a cluster serves, at each group's preferred version. Uses aggregated
 * discovery (two requests) and falls back to the per-group endpoints of older API servers. A client
 * registered with `cacheDiscovery` reuses an answer younger than its TTL.
 */
export function discoverResources(client: KubeClient): Promise<ResourceType[]> {
  const entry = kept.get(client);
  if (!entry) return discover(client);
  const now = Date.now();
  if (entry.last && now - entry.last.at < entry.ttlMs) return entry.last.types;
  const types = discover(client);
  const last = { at: now, types };
  entry.last = last;
  types.catch(() => entry.last === last && delete entry.last); // a failure is not kept
  return types;
}

async function discover(client: KubeClient): Promise<ResourceType[]> {
  const get = <T>(path: string, accept?: string) =>
    withRetry(() => client.request<T>({ method: "GET", path, ...(accept ? { accept } : {}) }));
  const [core, groups] = await Promise.all([
    get<GroupDiscoveryList>("/api", AGGREGATED),
    get<GroupDiscoveryList>("/apis", AGGREGATED),
  ]);
  if (core.kind === "APIGroupDiscoveryList" && groups.kind === "APIGroupDiscoveryList") {
    return [...fromAggregated(core), ...fromAggregated(groups)];
  }
  // an API server without aggregated discovery (before 1.26): every version of every group, one request each
  const coreList = await get<ApiResourceList>("/api/v1");
  const groupList = groups as unknown as ApiGroupList;
  const perGroup = await Promise.all(
    groupList.groups.map(async (g) => {
      const preferred = g.preferredVersion?.version;
      const versions = (g.versions ?? []).map((v) => v.version)
        .sort((a, b) => (b === preferred ? 1 : 0) - (a === preferred ? 1 : 0));
      const lists = await Promise.all(versions.map(async (version) => ({
        version,
        types: fromResourceList(g.name, version, await get<ApiResourceList>(`/apis/${g.name}/${version}`)),
      })));
      return byResource(g.name, lists);
    }),
  );
  return [
    ...byResource("", [{ version: "v1", types: fromResourceList("", "v1", coreList) }]),
    ...perGroup.flat(),
  ];
}
