import assert from "node:assert/strict";
import { type KubeClient, type KubeRequest, newRequestStats } from "../../shared/kube/kube_client.ts";
import { KubeApiError } from "../../shared/kube/kube_api_error.ts";
import type { KubeObject, ResourceType } from "../../shared/kube/types.ts";
import { listObjects, listPages, METADATA_LIST_ACCEPT } from "../../shared/kube/verbs.ts";

const CONFIG_MAPS: ResourceType = {
  group: "",
  version: "v1",
  resource: "configmaps",
  kind: "ConfigMap",
  namespaced: true,
};

/** A client that answers list requests from `answer`, recording each request. */
function fakeClient(
  answer: (req: KubeRequest, n: number) => unknown,
): KubeClient & { requests: KubeRequest[] } {
  const requests: KubeRequest[] = [];
  return {
    name: "fake",
    server: "https://fake",
    contextNamespace: undefined,
    stats: newRequestStats(),
    requests,
    request<T>(req: KubeRequest): Promise<T> {
      requests.push(req);
      try {
        return Promise.resolve(answer(req, requests.length) as T);
      } catch (error) {
        return Promise.reject(error);
      }
    },
    stream: () => Promise.reject(new Error("not used")),
    close() {},
  } satisfies KubeClient & { requests: KubeRequest[] };
}

const item = (name: string): KubeObject =>
  ({ metadata: { name, managedFields: [{ manager: "kubectl" }] } }) as unknown as KubeObject;

Deno.test("listPages yields one page per request, with kind and apiVersion filled in and managedFields dropped", async () => {
  const client = fakeClient((req) =>
    req.query?.continue === undefined
      ? { metadata: { continue: "next" }, items: [item("a"), item("b")] }
      : { metadata: {}, items: [item("c")] }
  );
  const pages = [];
  for await (const page of listPages(client, CONFIG_MAPS, "shop", { pageSize: 2 })) pages.push(page);
  assert.deepEqual(pages.map((p) => [p.restarted, p.items.map((o) => o.metadata.name)]), [
    [false, ["a", "b"]],
    [false, ["c"]],
  ]);
  const first = pages[0]!.items[0]!;
  assert.equal(first.kind, "ConfigMap");
  assert.equal(first.apiVersion, "v1");
  assert.equal(first.metadata.managedFields, undefined);
  assert.equal(client.requests[0]!.query?.limit, 2);
  assert.equal(client.requests[1]!.query?.continue, "next");
});

Deno.test("a list whose continue token expired starts over, and its first page says so", async () => {
  const client = fakeClient((req, n) => {
    if (n === 2) {
      throw new KubeApiError({ status: 410, reason: "Expired", message: "too old", cluster: "fake" });
    }
    return req.query?.continue === undefined
      ? { metadata: { continue: "next" }, items: [item(`a${n}`)] }
      : { metadata: {}, items: [item("b")] };
  });
  const pages = [];
  for await (const page of listPages(client, CONFIG_MAPS, "shop")) {
    pages.push([page.restarted, page.items.map((o) => o.metadata.name)]);
  }
  assert.deepEqual(pages, [[false, ["a1"]], [true, ["a3"]], [false, ["b"]]]);
  // listObjects forgets the pages before a restart
  const again = fakeClient((req, n) => {
    if (n === 2) {
      throw new KubeApiError({ status: 410, reason: "Expired", message: "too old", cluster: "fake" });
    }
    return req.query?.continue === undefined
      ? { metadata: { continue: "next" }, items: [item(`a${n}`)] }
      : { metadata: {}, items: [item("b")] };
  });
  assert.deepEqual((await listObjects(again, CONFIG_MAPS, "shop")).map((o) => o.metadata.name), ["a3", "b"]);
});

Deno.test("a metadata-only list asks for PartialObjectMetadataList and takes an empty one (items null)", async () => {
  const client = fakeClient(() => ({ metadata: {}, items: null }));
  const seen: string[] = [];
  const objects = await listObjects(client, CONFIG_MAPS, "shop", {
    metadataOnly: true,
    inspect: (o) => seen.push(o.metadata.name),
  });
  assert.deepEqual(objects, []);
  assert.equal(client.requests[0]!.accept, METADATA_LIST_ACCEPT);
  assert.match(METADATA_LIST_ACCEPT, /^application\/json;as=PartialObjectMetadataList;g=meta\.k8s\.io;v=v1,/);
  // without the option, the default accept header of the client stays
  await listObjects(client, CONFIG_MAPS, "shop");
  assert.equal(client.requests[1]!.accept, undefined);
});
