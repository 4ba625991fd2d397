import assert from "node:assert/strict";
import { TOKEN_SCOPES } from "../../functions/operations/mod.ts";
import { configFromOperatorObjects, loadConfig, type OperatorObject } from "../../shared/config/mod.ts";

const BASE = loadConfig(
  JSON.stringify({
    clusters: [{ name: "prod", kubeconfig: { path: "/etc/prod.kubeconfig" } }],
    replications: [],
  }),
  "base",
);
const options = { local: { cluster: "local", namespace: "dr-syncer-system" }, tokenScopes: TOKEN_SCOPES };

// the original README's configuration example, as kubectl would return it (namespace filled in)
const README_REMOTE: OperatorObject = {
  apiVersion: "dr-syncer.io/v1alpha1",
  kind: "RemoteCluster",
  metadata: { name: "dr-cluster", namespace: "default" },
  spec: { kubeconfigSecret: "dr-cluster-kubeconfig" },
};
const README_MAPPING: OperatorObject = {
  apiVersion: "dr-syncer.io/v1alpha1",
  kind: "NamespaceMapping",
  metadata: { name: "production-to-dr", namespace: "default" },
  spec: {
    sourceNamespace: "production",
    destinationNamespace: "production-dr",
    destinationCluster: "dr-cluster",
    resourceTypes: ["ConfigMap", "Secret", "Deployment", "Service"],
    schedule: "0 */6 * * *",
  },
};

Deno.test("operator objects: the original README's example: the Secret in the runtime's namespace, the source the runtime's cluster", () => {
  const out = configFromOperatorObjects([README_REMOTE, README_MAPPING], BASE, options);
  assert.deepEqual(out.results.map((r) => r.problem), [undefined, undefined]);
  assert.deepEqual(out.clusters.map((c) => [c.name, c.kubeconfig]), [
    ["dr-cluster", {
      secret: { name: "dr-cluster-kubeconfig", namespace: "dr-syncer-system", key: "kubeconfig" },
    }],
    ["local", { inCluster: true }],
  ]);
  const [r] = out.replications;
  assert.equal(r?.name, "production-to-dr");
  assert.deepEqual(r?.source, { cluster: "local", namespace: "production" });
  assert.deepEqual(r?.destination, { cluster: "dr-cluster", namespace: "production-dr" });
  assert.equal(r?.mode, "scheduled");
  assert.equal(r?.schedule, "0 */6 * * *");
  assert.deepEqual(r?.resourceTypes, ["configmap", "secret", "deployment", "service"]);
});

Deno.test("operator objects: a bad object is reported on itself and leaves the others running", () => {
  const unknownCluster: OperatorObject = {
    kind: "NamespaceMapping",
    metadata: { name: "lost", namespace: "team-a" },
    spec: { sourceNamespace: "lost", destinationCluster: "nowhere" },
  };
  const badSchedule: OperatorObject = {
    kind: "NamespaceMapping",
    metadata: { name: "weird", namespace: "team-a" },
    spec: { sourceNamespace: "w", destinationCluster: "dr-cluster", schedule: "every day" },
  };
  const clash: OperatorObject = {
    kind: "NamespaceMapping",
    metadata: { name: "again", namespace: "team-b" },
    spec: {
      sourceNamespace: "other",
      destinationNamespace: "production-dr",
      destinationCluster: "dr-cluster",
    },
  };
  const noSecret: OperatorObject = {
    kind: "RemoteCluster",
    metadata: { name: "half", namespace: "x" },
    spec: {},
  };
  const out = configFromOperatorObjects(
    [README_REMOTE, README_MAPPING, unknownCluster, badSchedule, clash, noSecret],
    BASE,
    options,
  );
  const problems = out.results.map((r) => r.problem ?? "ok");
  assert.equal(problems[0], "ok");
  assert.equal(problems[1], "ok");
  assert.match(problems[2]!, /destination\.cluster: Unknown cluster "nowhere"/);
  assert.match(problems[3]!, /schedule: "every day" is not a valid cron expression/);
  assert.match(problems[4]!, /Same destination as replication "production-to-dr"/);
  assert.match(problems[5]!, /Needs exactly one of "kubeconfigSecretRef" and "kubeconfigSecret"/);
  assert.deepEqual(out.replications.map((r) => r.name), ["production-to-dr"]);
});

Deno.test("operator objects: names the config file defines win", () => {
  const base = loadConfig(
    JSON.stringify({
      clusters: [{ name: "prod", kubeconfig: { path: "/p" } }, {
        name: "dr-cluster",
        kubeconfig: { path: "/d" },
      }],
      replications: [{
        name: "production-to-dr",
        source: { cluster: "prod", namespace: "a" },
        destination: { cluster: "dr-cluster" },
      }],
    }),
    "base",
  );
  const out = configFromOperatorObjects([README_REMOTE, README_MAPPING], base, options);
  assert.match(
    out.results[0]!.problem!,
    /A cluster named "dr-cluster" is already defined \(in the config file\)/,
  );
  assert.match(
    out.results[1]!.problem!,
    /A replication named "production-to-dr" is already defined \(in the config file\)/,
  );
  assert.deepEqual(out.replications, []);
});
