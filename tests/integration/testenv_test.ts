/** Proves the test environment is real: two independent API servers with real semantics. */
import assert from "node:assert/strict";
import {
  connectCluster,
  isConflict,
  isForbidden,
  isImmutableFieldError,
  isInvalid,
  isNotFound,
  type KubeApiError,
  type KubeClient,
  type KubeObject,
} from "../../shared/kube/mod.ts";
import {
  createNamespace,
  deleteNamespace,
  SOURCE_KUBECONFIG,
  testClusters,
  uniqueName,
} from "../_clusters.ts";

function deployment(name: string, app: string): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app } },
      template: {
        metadata: { labels: { app } },
        spec: { containers: [{ name: "web", image: "nginx:1.27" }] },
      },
    },
  };
}

async function roundTrip(client: KubeClient) {
  const ns = uniqueName("env");
  await createNamespace(client, ns);
  try {
    const cm = await client.request<KubeObject>({
      method: "POST",
      path: `/api/v1/namespaces/${ns}/configmaps`,
      body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "settings" }, data: { mode: "dr" } },
    });
    assert.ok(cm.metadata.uid, "the server assigns a uid");
    const read = await client.request<KubeObject & { data: Record<string, string> }>({
      method: "GET",
      path: `/api/v1/namespaces/${ns}/configmaps/settings`,
    });
    assert.equal(read.data.mode, "dr");

    await client.request({
      method: "POST",
      path: `/apis/apps/v1/namespaces/${ns}/deployments`,
      body: deployment("web", "web"),
    });
    const dep = await client.request<KubeObject & { spec: { replicas: number; strategy: { type: string } } }>(
      {
        method: "GET",
        path: `/apis/apps/v1/namespaces/${ns}/deployments/web`,
      },
    );
    assert.equal(dep.spec.replicas, 2);
    assert.equal(dep.spec.strategy.type, "RollingUpdate", "the API server applies defaults");
  } finally {
    await deleteNamespace(client, ns);
  }
}

Deno.test("both test clusters store and return objects", async () => {
  await using clusters = await testClusters();
  assert.notEqual(clusters.source.server, clusters.dr.server, "source and dr are separate API servers");
  await roundTrip(clusters.source);
  await roundTrip(clusters.dr);
});

Deno.test("the two clusters are independent", async () => {
  await using clusters = await testClusters();
  const ns = uniqueName("indep");
  await createNamespace(clusters.source, ns);
  try {
    await assert.rejects(
      clusters.dr.request({ method: "GET", path: `/api/v1/namespaces/${ns}` }),
      (e: unknown) => isNotFound(e),
    );
  } finally {
    await deleteNamespace(clusters.source, ns);
  }
});

Deno.test("a stale resourceVersion comes back as a typed 409 conflict", async () => {
  await using clusters = await testClusters();
  const client = clusters.dr;
  const ns = uniqueName("conflict");
  await createNamespace(client, ns);
  try {
    const path = `/api/v1/namespaces/${ns}/configmaps/c`;
    const created = await client.request<KubeObject>({
      method: "POST",
      path: `/api/v1/namespaces/${ns}/configmaps`,
      body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" }, data: { v: "1" } },
    });
    await client.request({ method: "PUT", path, body: { ...created, data: { v: "2" } } });
    const error = await client.request({ method: "PUT", path, body: { ...created, data: { v: "3" } } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(isConflict(error), `expected a conflict, got ${error}`);
    const e = error as KubeApiError;
    assert.equal(e.status, 409);
    assert.equal(e.reason, "Conflict");
    assert.equal(e.kind, "configmaps");
    assert.equal(e.objectName, "c");
    assert.equal(e.cluster, "dr");
  } finally {
    await deleteNamespace(client, ns);
  }
});

Deno.test("changing an immutable field comes back as a typed 422 invalid error", async () => {
  await using clusters = await testClusters();
  const client = clusters.source;
  const ns = uniqueName("immutable");
  await createNamespace(client, ns);
  try {
    await client.request({
      method: "POST",
      path: `/apis/apps/v1/namespaces/${ns}/deployments`,
      body: deployment("web", "a"),
    });
    const error = await client.request({
      method: "PATCH",
      path: `/apis/apps/v1/namespaces/${ns}/deployments/web`,
      query: { fieldManager: "test", force: true },
      contentType: "application/apply-patch+yaml",
      body: deployment("web", "b"),
    }).then(() => undefined, (e: unknown) => e);
    assert.ok(isInvalid(error), `expected 422, got ${error}`);
    assert.ok(isImmutableFieldError(error));
    const e = error as KubeApiError;
    assert.equal(e.status, 422);
    assert.equal(e.reason, "Invalid");
    assert.equal(e.kind, "Deployment");
    assert.equal(e.objectName, "web");
    assert.ok(e.causes.some((c) => c.field === "spec.selector"), JSON.stringify(e.causes));
  } finally {
    await deleteNamespace(client, ns);
  }
});

Deno.test("a token without rights gets a typed 403", async () => {
  const client = await connectCluster("source", { path: SOURCE_KUBECONFIG, context: "source-norights" });
  try {
    const error = await client.request({ method: "GET", path: "/api/v1/namespaces/default/secrets" }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(isForbidden(error), `expected 403, got ${error}`);
    assert.equal((error as KubeApiError).status, 403);
    assert.equal((error as KubeApiError).reason, "Forbidden");
    assert.match((error as Error).message, /testenv-norights/);
  } finally {
    client.close();
  }
});

Deno.test("the controller manager runs: a new namespace gets its default ServiceAccount", async () => {
  await using clusters = await testClusters();
  const ns = uniqueName("kcm");
  await createNamespace(clusters.dr, ns);
  try {
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        await clusters.dr.request({
          method: "GET",
          path: `/api/v1/namespaces/${ns}/serviceaccounts/default`,
        });
        break;
      } catch (e) {
        if (!isNotFound(e) || Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  } finally {
    await deleteNamespace(clusters.dr, ns);
  }
});

Deno.test("a kubeconfig is read from a Kubernetes Secret", async () => {
  await using clusters = await testClusters();
  const ns = uniqueName("kcsecret");
  await createNamespace(clusters.dr, ns);
  try {
    const text = await Deno.readTextFile(SOURCE_KUBECONFIG);
    await clusters.dr.request({
      method: "POST",
      path: `/api/v1/namespaces/${ns}/secrets`,
      body: {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "source-kubeconfig" },
        stringData: { kubeconfig: text },
      },
    });
    const viaSecret = await connectCluster("source", {
      secret: { name: "source-kubeconfig", namespace: ns, key: "kubeconfig" },
    }, { secretClient: clusters.dr });
    try {
      assert.equal(viaSecret.server, clusters.source.server);
      const nsList = await viaSecret.request<{ items: unknown[] }>({
        method: "GET",
        path: "/api/v1/namespaces",
      });
      assert.ok(nsList.items.length > 0);
    } finally {
      viaSecret.close();
    }
  } finally {
    await deleteNamespace(clusters.dr, ns);
  }
});
