/**
 * Custom resources and their CRDs under only the rights `dr-syncer render` and `deploy` give the runtime: the
 * rendered ServiceAccount, Roles and ClusterRoles are applied to both test clusters and stage, cutover and
 * failback run with tokens of that account only. The custom types are granted by name: listed in the config,
 * or (`includeCustomResources: true`) read from the source's discovery as deploy does, in which case a type
 * installed after the deploy is refused until the rights are rendered again. What the rights do not grant is
 * refused: another CRD, Secrets across the cluster, exec, ServiceAccount tokens, writes on the source.
 */
import assert from "node:assert/strict";
import { cutover } from "../../functions/cutover.ts";
import { discoverTypes } from "../../functions/deploy.ts";
import { failback } from "../../functions/failback.ts";
import { stage } from "../../functions/stage.ts";
import { renderCluster, type RenderOptions } from "../../infra/render.ts";
import type { Config } from "../../shared/config/config_schema.ts";
import { loadConfig, replicationSpecFromConfig } from "../../shared/config/mod.ts";
import { connectCluster, type KubeClient, type KubeObject } from "../../shared/kube/mod.ts";
import { silentLogger } from "../../shared/log/mod.ts";
import {
  createNamespace,
  DR_KUBECONFIG,
  fixtures,
  read,
  seed,
  SOURCE_KUBECONFIG,
  type TestClusters,
  testClusters,
  uniqueName,
  withNamespaces,
} from "../_clusters.ts";
import { forbidden, installRuntimeRights, removeClusterRights, runtimeKubeconfig } from "./runtime_rights.ts";

/** A namespaced CRD of `plural` in `group`, served at v1. */
function crd(group: string, plural: string, kind: string): KubeObject {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      scope: "Namespaced",
      names: { plural, singular: kind.toLowerCase(), kind },
      versions: [{
        name: "v1",
        served: true,
        storage: true,
        schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
      }],
    },
  };
}

async function installCrd(client: KubeClient, object: KubeObject): Promise<void> {
  await seed(client, [object]);
  const spec = object.spec as { group: string; names: { plural: string } };
  for (let i = 0; i < 150; i++) {
    const served = await client.request({
      method: "GET",
      path: `/apis/${spec.group}/v1/${spec.names.plural}`,
    })
      .then(() => true, () => false);
    if (served) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${object.metadata.name} is not served`);
}

/** Creates a custom object (`seed` caches discovery from before its CRD). */
async function createCustom(
  client: KubeClient,
  group: string,
  plural: string,
  object: KubeObject,
): Promise<void> {
  await client.request({
    method: "POST",
    path: `/apis/${group}/v1/namespaces/${object.metadata.namespace}/${plural}`,
    body: object,
  });
}

async function deleteCrds(clusters: TestClusters, names: readonly string[]): Promise<void> {
  for (const client of [clusters.source, clusters.dr]) {
    for (const name of names) {
      await client.request({
        method: "DELETE",
        path: `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`,
      }).catch(() => {});
    }
  }
}

/**
 * The runtime's rights of `config` applied to both clusters (again: a new render replaces them), and clients
 * holding only those. `removeRuntime` takes them away.
 */
async function asRuntime(
  clusters: TestClusters,
  config: Config,
  options: RenderOptions = {},
): Promise<{ source: KubeClient; dr: KubeClient; [Symbol.asyncDispose](): Promise<void> }> {
  const runtimeNs = config.runtime.namespace;
  const clients: KubeClient[] = [];
  for (const [name, admin] of [["source", clusters.source], ["dr", clusters.dr]] as const) {
    await createNamespace(admin, runtimeNs).catch(() => {});
    await installRuntimeRights(admin, renderCluster(config, name, options).objects);
    clients.push(
      await connectCluster(name, { inline: await runtimeKubeconfig(admin, name, runtimeNs) }),
    );
  }
  return {
    source: clients[0]!,
    dr: clients[1]!,
    [Symbol.asyncDispose]() {
      for (const client of clients) client.close();
      return Promise.resolve();
    },
  };
}

async function removeRuntime(clusters: TestClusters, config: Config): Promise<void> {
  for (const admin of [clusters.source, clusters.dr]) {
    await admin.request({ method: "DELETE", path: `/api/v1/namespaces/${config.runtime.namespace}` })
      .catch(() => {});
    await removeClusterRights(admin, config.runtime.namespace);
  }
}

function configOf(replication: Record<string, unknown>, runtimeNs: string): Config {
  return loadConfig(
    JSON.stringify({
      clusters: [
        { name: "source", kubeconfig: { path: SOURCE_KUBECONFIG } },
        { name: "dr", kubeconfig: { path: DR_KUBECONFIG } },
      ],
      replications: [replication],
      agent: { namespace: uniqueName("agents") },
      runtime: { cluster: "dr", namespace: runtimeNs },
    }),
    "rbac test config",
  );
}

type Workload = KubeObject & { spec: { replicas: number } };

const failures = (report: { readonly objects: readonly { readonly action: string }[] }) =>
  JSON.stringify(report.objects.filter((o) => o.action === "failed"));

Deno.test("custom resources with syncCRDs: stage, cutover and failback under only the rendered rights", async () => {
  await using clusters = await testClusters();
  const group = `r${crypto.randomUUID().slice(0, 8)}.example.com`;
  const widgets = crd(group, "widgets", "Widget");
  await installCrd(clusters.source, widgets);
  try {
    await withNamespaces(clusters, "rbaccrd", async (ns) => {
      const config = configOf({
        name: "crd",
        source: { cluster: "source", namespace: ns.source },
        destination: { cluster: "dr", namespace: ns.dest },
        resourceTypes: ["configmaps", "secrets", "deployments", "roles", "rolebindings"],
        includeCustomResources: [`widgets.${group}`],
        syncCRDs: true,
        prune: true,
      }, uniqueName("rt"));
      try {
        await seed(clusters.source, [
          fixtures.configMap(ns.source, "settings"),
          fixtures.deployment(ns.source, "web", 2),
          {
            apiVersion: "v1",
            kind: "Secret",
            metadata: { name: "creds", namespace: ns.source },
            stringData: { a: "b" },
          },
          // a Role granting what the runtime does not hold (exec), and a binding to it: copied with bind/escalate
          {
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "Role",
            metadata: { name: "debug", namespace: ns.source },
            rules: [{ apiGroups: [""], resources: ["pods/exec"], verbs: ["create"] }],
          },
          {
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "RoleBinding",
            metadata: { name: "debug", namespace: ns.source },
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "debug" },
            subjects: [{ kind: "ServiceAccount", name: "default", namespace: ns.source }],
          },
        ]);
        await createCustom(clusters.source, group, "widgets", {
          apiVersion: `${group}/v1`,
          kind: "Widget",
          metadata: { name: "w1", namespace: ns.source },
          spec: { size: 3 },
        });
        await createNamespace(clusters.dr, ns.dest); // deploy creates the replicated namespaces
        await using runtime = await asRuntime(clusters, config);
        const { source, dr } = runtime;

        // what the rights do not reach
        const other = crd(group, "others", "Other");
        await assert.rejects(
          dr.request({
            method: "POST",
            path: "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            body: other,
          }),
          forbidden,
        );
        await assert.rejects(
          dr.request({
            method: "PATCH",
            path: `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/others.${group}`,
            query: { fieldManager: "dr-syncer", force: true },
            contentType: "application/apply-patch+yaml",
            body: other,
          }),
          forbidden,
        );
        for (const client of [source, dr]) {
          await assert.rejects(client.request({ method: "GET", path: "/api/v1/secrets" }), forbidden);
        }
        await assert.rejects(
          dr.request({ method: "POST", path: `/api/v1/namespaces/${ns.dest}/pods/web/exec`, body: {} }),
          forbidden,
        );
        await assert.rejects(
          dr.request({
            method: "POST",
            path: `/api/v1/namespaces/${ns.dest}/serviceaccounts/default/token`,
            body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: {} },
          }),
          forbidden,
        );
        await assert.rejects(
          source.request({
            method: "POST",
            path: `/api/v1/namespaces/${ns.source}/pods`,
            body: { apiVersion: "v1", kind: "Pod", metadata: { name: "planted" } },
          }),
          forbidden,
          "the source is written only in the copied types (failback's copy-back), and its workloads' replicas",
        );

        const spec = replicationSpecFromConfig(config.replications[0]!, config.agent);
        const deps = { source, dr, logger: silentLogger, lock: { leaseSeconds: 15 } };
        const staged = await stage(deps, { replication: spec });
        assert.equal(staged.status, "succeeded", failures(staged));
        const copiedCrd = await read(
          clusters.dr,
          "apiextensions.k8s.io/v1",
          "CustomResourceDefinition",
          undefined,
          `widgets.${group}`,
        );
        assert.equal(copiedCrd?.metadata.labels?.["app.kubernetes.io/managed-by"], "dr-syncer");
        const widget = await clusters.dr.request<KubeObject & { spec: { size: number } }>({
          method: "GET",
          path: `/apis/${group}/v1/namespaces/${ns.dest}/widgets/w1`,
        });
        assert.equal(widget.spec.size, 3);
        assert.ok(await read(clusters.dr, "rbac.authorization.k8s.io/v1", "RoleBinding", ns.dest, "debug"));

        const cut = await cutover(deps, { replication: spec });
        assert.equal(cut.status, "succeeded", JSON.stringify(cut.steps));
        const replicas = async (client: KubeClient, namespace: string) => {
          const web = await read<Workload>(client, "apps/v1", "Deployment", namespace, "web");
          return web!.spec.replicas;
        };
        assert.equal(await replicas(clusters.dr, ns.dest), 2);
        assert.equal(await replicas(clusters.source, ns.source), 0);

        const back = await failback(deps, { replication: spec });
        assert.equal(back.status, "succeeded", JSON.stringify(back.steps));
        assert.equal(await replicas(clusters.source, ns.source), 2);
        assert.equal(await replicas(clusters.dr, ns.dest), 0);
      } finally {
        await removeRuntime(clusters, config);
      }
    });
  } finally {
    await deleteCrds(clusters, [`widgets.${group}`]);
  }
});

Deno.test("includeCustomResources: true: the rights name what the source's discovery serves; a later type waits for a new deploy", async () => {
  await using clusters = await testClusters();
  const group = `d${crypto.randomUUID().slice(0, 8)}.example.com`;
  await installCrd(clusters.source, crd(group, "gadgets", "Gadget"));
  try {
    await withNamespaces(clusters, "rbacall", async (ns) => {
      const config = configOf({
        name: "all",
        source: { cluster: "source", namespace: ns.source },
        destination: { cluster: "dr", namespace: ns.dest },
        resourceTypes: ["configmaps"],
        includeCustomResources: true,
        syncCRDs: true,
      }, uniqueName("rt"));
      try {
        assert.throws(() => renderCluster(config, "dr"), /includeCustomResources: true names no type/);
        await seed(clusters.source, [fixtures.configMap(ns.source, "settings")]);
        await createCustom(clusters.source, group, "gadgets", {
          apiVersion: `${group}/v1`,
          kind: "Gadget",
          metadata: { name: "g1", namespace: ns.source },
        });
        await createNamespace(clusters.dr, ns.dest);
        const clientOf = (name: string) => name === "source" ? clusters.source : clusters.dr;
        const spec = replicationSpecFromConfig(config.replications[0]!, config.agent);

        /**
         * Reads the source's discovery as deploy does, applies the rights, stages. The test clusters are shared:
         * a custom type another test adds meanwhile is refused the same way, so that is read again (3 tries).
         */
        const stageWithFreshRights = async (expect: string) => {
          for (let attempt = 1;; attempt++) {
            const { served, discovered } = await discoverTypes(config, clientOf);
            assert.ok(discovered[0]?.types.includes(expect), JSON.stringify(discovered));
            await using runtime = await asRuntime(clusters, config, { served });
            const deps = { ...runtime, logger: silentLogger, lock: { leaseSeconds: 15 } };
            const outcome = await stage(deps, { replication: spec }).catch((error) => error);
            if (outcome?.status === "succeeded") return;
            if (attempt === 3) {
              assert.fail(`stage: ${outcome?.objects ? failures(outcome) : String(outcome)}`);
            }
          }
        };
        await stageWithFreshRights(`gadgets.${group}`);
        assert.ok(
          await clusters.dr.request({
            method: "GET",
            path: `/apis/${group}/v1/namespaces/${ns.dest}/gadgets/g1`,
          }),
        );

        // a custom type installed after the rights were rendered: the runtime may not read it
        const { served } = await discoverTypes(config, clientOf);
        await installCrd(clusters.source, crd(group, "lates", "Late"));
        await createCustom(clusters.source, group, "lates", {
          apiVersion: `${group}/v1`,
          kind: "Late",
          metadata: { name: "l1", namespace: ns.source },
        });
        {
          await using runtime = await asRuntime(clusters, config, { served });
          const deps = { ...runtime, logger: silentLogger, lock: { leaseSeconds: 15 } };
          const outcome = await stage(deps, { replication: spec }).catch((error) => error);
          assert.notEqual(outcome?.status, "succeeded", "a type the rights do not name is refused");
          assert.match(String(outcome?.message ?? failures(outcome)), /forbidden|403/i);
        }
        // deploy again: the new type is named, and copied
        await stageWithFreshRights(`lates.${group}`);
        assert.ok(
          await clusters.dr.request({
            method: "GET",
            path: `/apis/${group}/v1/namespaces/${ns.dest}/lates/l1`,
          }),
        );
      } finally {
        await removeRuntime(clusters, config);
      }
    });
  } finally {
    await deleteCrds(clusters, [`gadgets.${group}`, `lates.${group}`]);
  }
});
