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
  groups: { name: string; preferredVersion?: { groupVersion: string; version: string } }[];
}

function fromAggregated(list: GroupDiscoveryList): ResourceType[] {
  const out: ResourceType[] = [];
  for (const item of list.items ?? []) {
    const group = item.metadata?.name ?? "";
    const preferred = item.versions?.[0]; // the server lists the preferred version first
    for (const r of preferred?.resources ?? []) {
      out.push({
        group,
        version: preferred?.version ?? "v1",
        resource: r.resource,
        kind: r.responseKind?.kind ?? "",
        namespaced: r.scope === "Namespaced",
        ...(r.singularResource ? { singular: r.singularResource } : {}),
        shortNames: r.shortNames ?? [],
        verbs: r.verbs ?? [],
      });
    }
  }
  return out;
}

function fromResourceList(group: string, version: string, list: ApiResourceList): ResourceType[] {
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

/**
 * Lists every resource type a cluster serves, at each group's preferred version. Uses aggregated
 * discovery (two requests) and falls back to the per-group endpoints of older API servers.
 */
export async function discoverResources(client: KubeClient): Promise<ResourceType[]> {
  const get = <T>(path: string, accept?: string) =>
    withRetry(() => client.request<T>({ method: "GET", path, ...(accept ? { accept } : {}) }));
  const [core, groups] = await Promise.all([
    get<GroupDiscoveryList>("/api", AGGREGATED),
    get<GroupDiscoveryList>("/apis", AGGREGATED),
  ]);
  if (core.kind === "APIGroupDiscoveryList" && groups.kind === "APIGroupDiscoveryList") {
    return [...fromAggregated(core), ...fromAggregated(groups)];
  }
  const coreList = await get<ApiResourceList>("/api/v1");
  const groupList = groups as unknown as ApiGroupList;
  const perGroup = await Promise.all(
    groupList.groups.filter((g) => g.preferredVersion).map(async (g) => {
      const version = g.preferredVersion!.version;
      const list = await get<ApiResourceList>(`/apis/${g.name}/${version}`);
      return fromResourceList(g.name, version, list);
    }),
  );
  return [...fromResourceList("", "v1", coreList), ...perGroup.flat()];
}
