/**
 * The original DR-Syncer's API (RemoteCluster, ClusterMapping, NamespaceMapping, `dr-syncer.io/v1alpha1`)
 * as dr-syncer serves it, driven with the real kubectl (`testenv.sh build-kubectl`) against the DR test
 * cluster: render's CRDs applied and served; the original's own example manifests (its README, its docs and
 * its test cases, vendored unchanged in `tests/fixtures/original-dr-syncer/`, see its NOTICE) applied
 * unchanged, each accepted or refused for the reason listed below; `kubectl explain`; an unknown field refused
 * by name; a status written through the status subresource as the runtime writes it, shown by `kubectl get`'s
 * columns; Events about a mapping shown by `kubectl describe`; the short names and the category. With a clone
 * of the original's repository at hand, a test checks that the vendored files are still its text.
 *
 * The CRDs are cluster-scoped and shared with the other tests: they are applied (the same content deploy
 * applies) and never deleted. Every object lives in a namespace of this test, deleted at the end; the
 * original's examples that name a namespace are only dry runs.
 */
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { type CliIo, main } from "../../functions/cli/run_cli.ts";
import { mappingStatus } from "../../functions/sources/mapping_status.ts";
import type { ReplicationStatus } from "../../functions/runtime/mod.ts";
import { configSchema } from "../../shared/config/mod.ts";
import { NAMESPACE_MAPPING, OPERATOR_API_VERSION } from "../../shared/config/operator_names.ts";
import type { KubeObject } from "../../shared/kube/mod.ts";
import { createNamespace, deleteNamespace, DR_KUBECONFIG, testClusters, uniqueName } from "../_clusters.ts";
import { kubectl as runKubectl, runCommand } from "./kubectl_harness.ts";

/**
 * The original DR-Syncer's example manifests, byte for byte, from the commit below (the folder's NOTICE says
 * where each comes from): `<path>.txt` is the file `<path>`, `<page>.block-<N>.yaml.txt` the Nth YAML block
 * of the Markdown page `<page>`.
 */
const FIXTURES = new URL("../fixtures/original-dr-syncer/", import.meta.url).pathname;
const ORIGINAL_COMMIT = "e783fa0b86f288f81ded73ff0ae7043394467d6d";

/** A clone of the original DR-Syncer's repository (a bare git directory), to check the fixtures against. */
const ORIGINAL_REPO = Deno.env.get("DR_SYNCER_ORIGINAL_REPO") ??
  "/work/.mirror/SupportTools+dr-syncer/repo";

/** What the test saw, on stderr (the examples' outcomes, kubectl's table). */
const show = (text: string) => Deno.stderr.writeSync(new TextEncoder().encode(`${text.trimEnd()}\n`));

/** A manifest of the original's, as written: a file, or a YAML block of a Markdown page. */
interface Example {
  /** The file's path in the original repository, or `page.md#N` (the Nth YAML block of the page). */
  readonly name: string;
  readonly text: string;
}

/** A line `apiVersion: dr-syncer.io/...` at the start of a line: a whole manifest, not a fragment. */
const MANIFEST = /^apiVersion: dr-syncer\.io\//m;

/** The fixtures' names (relative to the folder), NOTICE and LICENSE left out. */
async function fixtureFiles(dir = FIXTURES, prefix = ""): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isDirectory) {
      found.push(...await fixtureFiles(`${dir}${entry.name}/`, `${prefix}${entry.name}/`));
    } else if (entry.name.endsWith(".txt")) found.push(`${prefix}${entry.name}`);
  }
  return found;
}

/** The example a fixture holds, named as in the original repository. */
function exampleName(fixture: string): string {
  const origin = fixture.replace(/\.txt$/, "");
  const block = /^(.*\.mdx?)\.block-(\d+)\.yaml$/.exec(origin);
  return block ? `${block[1]}#${block[2]}` : origin;
}

/** The original's examples, from the fixtures: its README's configuration example and every other one. */
async function originalExamples(): Promise<{ readme: string; examples: Example[] }> {
  let readme: string | undefined;
  const examples: Example[] = [];
  for (const fixture of await fixtureFiles()) {
    const name = exampleName(fixture);
    const text = await Deno.readTextFile(`${FIXTURES}${fixture}`);
    if (name.startsWith("README.md#")) readme = text;
    else examples.push({ name, text });
  }
  assert.ok(readme !== undefined, `the README's example is in ${FIXTURES}`);
  const order = (name: string) => name.replace(/#(\d+)$/, (_, n: string) => `#${n.padStart(3, "0")}`);
  examples.sort((a, b) => order(a.name).localeCompare(order(b.name)));
  return { readme, examples };
}

/** The original repository's files at the fixtures' commit, or `undefined` when there is no clone of it. */
async function originalRepo() {
  try {
    await Deno.stat(ORIGINAL_REPO);
  } catch {
    return undefined;
  }
  const git = async (...args: string[]) => {
    const out = await runCommand("git", ["-C", ORIGINAL_REPO, ...args]);
    if (out.code !== 0) throw new Error(`git ${args.join(" ")}: ${out.stderr}`);
    return out.stdout;
  };
  if ((await runCommand("git", ["-C", ORIGINAL_REPO, "cat-file", "-e", ORIGINAL_COMMIT])).code !== 0) {
    return undefined;
  }
  const files = (await git("ls-tree", "-r", "--name-only", ORIGINAL_COMMIT)).split("\n").filter(Boolean);
  return { files, show: (path: string) => git("show", `${ORIGINAL_COMMIT}:${path}`) };
}

/** The examples as the original repository holds them: the README's first manifest block, and the others. */
async function examplesOfRepo(repo: NonNullable<Awaited<ReturnType<typeof originalRepo>>>) {
  const readme = await repo.show("README.md");
  const readmeBlocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const readmeIndex = readmeBlocks.findIndex((b) => MANIFEST.test(b));
  const examples: Example[] = [{ name: `README.md#${readmeIndex + 1}`, text: readmeBlocks[readmeIndex]! }];
  for (const file of repo.files) {
    if (/^test\/.*\.ya?ml$/.test(file)) {
      const text = await repo.show(file);
      if (MANIFEST.test(text)) examples.push({ name: file, text });
    } else if (/^docs\/.*\.mdx?$/.test(file)) {
      const blocks = [...(await repo.show(file)).matchAll(/```ya?ml\n([\s\S]*?)```/g)].map((m) => m[1]!);
      blocks.forEach((text, index) => {
        if (MANIFEST.test(text)) examples.push({ name: `${file}#${index + 1}`, text });
      });
    }
  }
  return examples;
}

const clone = await originalRepo();

Deno.test({
  name:
    "the vendored examples of the original DR-Syncer are its text at the commit, byte for byte, and all of them",
  ignore: clone === undefined,
  fn: async () => {
    const inRepo = await examplesOfRepo(clone!);
    const vendored = new Map<string, string>();
    for (const fixture of await fixtureFiles()) {
      vendored.set(exampleName(fixture), await Deno.readTextFile(`${FIXTURES}${fixture}`));
    }
    assert.deepEqual([...vendored.keys()].sort(), inRepo.map((e) => e.name).sort(), "the same examples");
    for (const example of inRepo) assert.equal(vendored.get(example.name), example.text, example.name);
    assert.equal(await Deno.readTextFile(`${FIXTURES}LICENSE`), await clone!.show("LICENSE"));
    assert.match(await Deno.readTextFile(`${FIXTURES}NOTICE`), new RegExp(ORIGINAL_COMMIT));
  },
});

/**
 * The original's examples our CRDs refuse, and why: each is refused by the original's own CRDs too (its
 * schemas have the same fields), being written for an API it never had. Every other example is accepted.
 * Keys: the file, or `page.md#N` (the Nth YAML block of the page, counting every YAML block).
 */
const REFUSED: Readonly<Record<string, RegExp>> = {
  // its own test case: fields of no version of its RemoteCluster (and a Secret whose data is a placeholder)
  "test/cases/19_pvc-replication/remote.yaml":
    /unknown field "spec.agentEnabled", unknown field "spec.agentOptions", unknown field "spec.kubeConfigSecret"/,
  // the CRD reference page describes fields its types never had (sshKeySecret, agentDeployment, sync,
  // deploymentConfig, excludeLabels, excludeResources, pvcConfig.includeData...) and shows a status with them
  "docs/docs/crd-reference.md#1":
    /unknown field "spec.agentDeployment", unknown field "spec.sshKeySecret", unknown field "status.agentStatus"/,
  "docs/docs/crd-reference.md#2":
    /unknown field "spec.deploymentConfig", unknown field "spec.excludeLabels", unknown field "spec.excludeResources", unknown field "spec.pvcConfig.accessModeMapping", unknown field "spec.pvcConfig.includeData"/,
  "docs/docs/crd-reference.md#5": /unknown field "spec.deploymentConfig", unknown field "spec.sync"/,
  "docs/docs/crd-reference.md#6":
    /RemoteCluster: strict decoding error: unknown field "spec.sshKeySecret".*NamespaceMapping: strict decoding error: unknown field "spec.pvcConfig.accessModeMapping"/,
  // the examples page: kubeconfigSecret as an object ({name: ...}, where the README writes a name), and
  // remoteCluster, mode {type}, pvcSync.agent, storageClassMapping, labelSelector, excludeLabels...
  "docs/docs/examples.md#1":
    /unknown field "spec.kubeconfigSecret.name".*NamespaceMapping: strict decoding error: unknown field "spec.mode", unknown field "spec.remoteCluster"/,
  "docs/docs/examples.md#2":
    /unknown field "spec.kubeconfigSecret.name", unknown field "spec.pvcSync.agent", unknown field "spec.pvcSync.storageClassMapping"/,
  "docs/docs/examples.md#3":
    /unknown field "spec.excludeLabels", unknown field "spec.labelSelector", unknown field "spec.mode", unknown field "spec.remoteCluster"/,
  "docs/docs/examples.md#4":
    /ClusterMapping: strict decoding error: unknown field "spec.mode", unknown field "spec.namespaceMappings", unknown field "spec.remoteCluster", unknown field "spec.resourceTypes"/,
  "docs/docs/examples.md#5": /unknown field "spec.mode", unknown field "spec.remoteCluster"/,
  "docs/docs/examples.md#7":
    /unknown field "spec.kubeconfigSecret.name", unknown field "spec.pvcSync.storageClassMapping"/,
  "docs/docs/examples.md#8": /unknown field "spec.mode", unknown field "spec.remoteCluster"/,
  "docs/docs/examples.md#9": /unknown field "spec.mode", unknown field "spec.remoteCluster"/,
  // the installation guide: the same RemoteCluster as the examples page, and a labelSelector
  "docs/docs/installation.md#2":
    /unknown field "spec.kubeconfigSecret.name", unknown field "spec.pvcSync.agent", unknown field "spec.pvcSync.storageClassMapping"/,
  "docs/docs/installation.md#6": /unknown field "spec.labelSelector"/,
};

Deno.test("the original DR-Syncer's API with real kubectl: CRDs served, its examples applied unchanged, explain, strict fields, status columns, Events", async (t) => {
  await using clusters = await testClusters();
  const ns = uniqueName("crds").slice(0, 40);
  const cacheDir = await Deno.makeTempDir({ prefix: "dr-syncer-kubectl-" });
  const kubectl = (args: string[], stdin?: string) => runKubectl(DR_KUBECONFIG, cacheDir, args, stdin);
  const ok = async (args: string[], stdin?: string) => {
    const out = await kubectl(args, stdin);
    assert.equal(out.code, 0, `kubectl ${args.join(" ")}: ${out.stderr}`);
    return out.stdout;
  };
  /** Retries a kubectl call until it succeeds (the API server publishes a new CRD's OpenAPI shortly after). */
  const eventually = async (args: string[], ms = 60_000) => {
    const deadline = Date.now() + ms;
    for (;;) {
      const out = await kubectl(args);
      if (out.code === 0) return out.stdout;
      if (Date.now() > deadline) assert.fail(`kubectl ${args.join(" ")}: ${out.stderr}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  };
  const createdNamespaces: string[] = [];
  await createNamespace(clusters.dr, ns);
  try {
    await t.step(
      "render prints the CRDs for the runtime's cluster; kubectl applies them and they are served",
      async () => {
        const dir = await Deno.makeTempDir();
        const file = `${dir}/dr-syncer.yaml`;
        await Deno.writeTextFile(
          file,
          `clusters:
  - { name: source, kubeconfig: { path: /nowhere/source } }
  - { name: dr, kubeconfig: { path: /nowhere/dr } }
replications:
  - { name: shop, source: { cluster: source, namespace: shop }, destination: { cluster: dr } }
runtime: { namespace: ${ns} }
`,
        );
        let stdout = "", stderr = "";
        const io: CliIo = {
          stdout: (s) => stdout += s,
          stderr: (s) => stderr += s,
          env: () => undefined,
          stderrIsTerminal: false,
        };
        assert.equal(await main(["render", "--config", file, "--cluster", "dr"], io), 0, stderr);
        await Deno.remove(dir, { recursive: true });
        const crds = parseAllDocuments(stdout).map((d) => d.toJS() as KubeObject).filter((o) =>
          o.kind === "CustomResourceDefinition"
        );
        assert.equal(crds.length, 3);
        const documents = stdout.split(/^---\n/m).filter((d) =>
          d.includes("kind: CustomResourceDefinition\n")
        );
        const applied = await ok(
          ["apply", "--server-side", "--field-manager=dr-syncer-deploy", "--force-conflicts", "-f", "-"],
          documents.join("---\n"),
        );
        assert.match(
          applied,
          /customresourcedefinition.apiextensions.k8s.io\/namespacemappings.dr-syncer.io serverside-applied/,
        );
        await ok([
          "wait",
          "--for=condition=Established",
          "--timeout=60s",
          ...crds.map((c) => `crd/${c.metadata.name}`),
        ]);
        const resources = await ok(["api-resources", "--api-group=dr-syncer.io", "-o", "wide"]);
        for (
          const [name, short, kind] of [
            ["clustermappings", "drcm", "ClusterMapping"],
            ["namespacemappings", "drnm", "NamespaceMapping"],
            ["remoteclusters", "drrc", "RemoteCluster"],
          ]
        ) {
          assert.match(
            resources,
            new RegExp(`^${name}\\s+${short}\\s+dr-syncer.io/v1alpha1\\s+true\\s+${kind}\\s`, "m"),
          );
        }
      },
    );

    const original = await originalExamples();
    await t.step({
      name:
        "the original README's RemoteCluster (kubeconfigSecret: NAME) and NamespaceMapping (only destinationCluster) apply unchanged",
      fn: async () => {
        const readme = original.readme;
        assert.match(readme, /kubeconfigSecret: dr-cluster-kubeconfig/);
        const out = await ok(["apply", "-n", ns, "-f", "-"], readme);
        assert.match(out, /remotecluster.dr-syncer.io\/dr-cluster created/);
        assert.match(out, /namespacemapping.dr-syncer.io\/production-to-dr created/);
        const got = JSON.parse(
          await ok(["get", "namespacemapping", "production-to-dr", "-n", ns, "-o", "json"]),
        );
        assert.equal(got.spec.destinationCluster, "dr-cluster");
        assert.equal(got.spec.sourceCluster, undefined, "nothing is defaulted into the object");
        // applied again: unchanged
        assert.match(await ok(["apply", "-n", ns, "-f", "-"], readme), /production-to-dr unchanged/);
      },
    });

    await t.step({
      name:
        "the original's docs and test cases: each manifest applied unchanged (server dry run), accepted or refused as listed",
      fn: async () => {
        const results: string[] = [];
        const seen = new Set<string>();
        const examplesNs = `${ns}-examples`;
        await createNamespace(clusters.dr, examplesNs);
        createdNamespaces.push(examplesNs);
        for (const example of original.examples) {
          const namespaces = new Set(
            parseAllDocuments(example.text).map((d) => d.toJS() as KubeObject | null).flatMap((o) =>
              o?.metadata?.namespace ? [o.metadata.namespace] : []
            ),
          );
          for (const name of namespaces) {
            if (seen.has(name)) continue;
            seen.add(name);
            const exists = await kubectl(["get", "namespace", name]);
            if (exists.code !== 0) {
              await createNamespace(clusters.dr, name);
              createdNamespaces.push(name);
            }
          }
          // objects without a namespace go to an empty namespace of this test's (a dry run stores nothing)
          const out = await kubectl(
            ["apply", "--dry-run=server", ...(namespaces.size === 0 ? ["-n", examplesNs] : []), "-f", "-"],
            example.text,
          );
          const expected = REFUSED[example.name];
          const refusal = out.stderr.replace(/\s+/g, " ");
          if (expected) {
            assert.notEqual(out.code, 0, `${example.name}: refused (${expected}), but: ${out.stdout}`);
            assert.match(refusal, expected, example.name);
            results.push(`refused  ${example.name}: ${refusal.slice(0, 160)}`);
          } else {
            assert.equal(out.code, 0, `${example.name}: accepted, but: ${refusal}`);
            assert.match(out.stdout, /\(server dry run\)/, example.name);
            results.push(`accepted ${example.name}`);
          }
        }
        const unknown = Object.keys(REFUSED).filter((k) => !original.examples.some((e) => e.name === k));
        assert.deepEqual(unknown, [], "every example listed as refused exists");
        assert.ok(results.filter((r) => r.startsWith("accepted")).length >= 25, results.join("\n"));
        show(results.join("\n"));
      },
    });

    await t.step("kubectl explain shows every field with what dr-syncer does with it", async () => {
      const spec = await eventually(["explain", "namespacemapping.spec"]);
      assert.match(spec, /KIND:\s+NamespaceMapping/);
      assert.match(spec, /VERSION:\s+v1alpha1/);
      assert.match(spec, /GROUP:\s+dr-syncer.io/);
      for (const field of ["clusterMappingRef", "pvcConfig", "replicationMode", "schedule", "retryConfig"]) {
        assert.match(spec, new RegExp(`^\\s+${field}\\s+<`, "m"), field);
      }
      assert.match(spec, /replicationMode\s+<string>\s+enum: Scheduled, Continuous, Manual/);
      const unusedField = await ok([
        "explain",
        "namespacemapping.spec.pvcConfig.dataSyncConfig.rsyncOptions",
      ]);
      assert.match(
        unusedField.replace(/\s+/g, " "),
        /not used by dr-syncer: the agents run a fixed, confined rsync/,
      );
      const secret = await ok(["explain", "remotecluster.spec.kubeconfigSecret"]);
      assert.match(secret.replace(/\s+/g, " "), /the original DR-Syncer README's form/);
      const rpo = await ok(["explain", "namespacemapping.status.rpo"]);
      assert.match(rpo, /level\s+<string>\s+enum: ok, warning, critical, none/);
      const recursive = await ok(["explain", "clustermapping", "--recursive"]);
      assert.match(recursive, /sshKeySecretRef\s+<Object>/);
    });

    await t.step(
      "strict: an unknown field is refused by its path, as are a wrong type, a value outside an enum, and both kubeconfig forms",
      async () => {
        const mapping = (spec: string) =>
          `apiVersion: ${OPERATOR_API_VERSION}\nkind: NamespaceMapping\nmetadata: { name: typo }\nspec:\n${spec}`;
        const refused = async (manifest: string, message: RegExp, extra: string[] = []) => {
          const out = await kubectl(["apply", "-n", ns, ...extra, "-f", "-"], manifest);
          assert.notEqual(out.code, 0, out.stdout);
          assert.match(out.stderr.replace(/\s+/g, " "), message);
        };
        await refused(
          mapping("  sourceNamespace: shop\n  shedule: '*/5 * * * *'\n"),
          /strict decoding error: unknown field "spec.shedule"/,
        );
        await refused(
          mapping("  sourceNamespace: shop\n  pvcConfig: { syncdata: true }\n"),
          /unknown field "spec.pvcConfig.syncdata"/,
        );
        // server-side apply says it its own way
        await refused(
          mapping("  sourceNamespace: shop\n  shedule: '*/5 * * * *'\n"),
          /\.spec\.shedule: field not declared in schema/,
          ["--server-side"],
        );
        await refused(
          mapping("  replicationMode: Hourly\n"),
          /spec.replicationMode: Unsupported value: "Hourly": supported values: "Scheduled", "Continuous", "Manual"/,
        );
        await refused(
          mapping("  scaleToZero: 'yes'\n"),
          /spec.scaleToZero: Invalid value: "string": .*must be of type boolean/,
        );
        await refused(mapping("  schedule: '@hourly'\n"), /spec.schedule in body should match/);
        await refused(
          `apiVersion: ${OPERATOR_API_VERSION}\nkind: RemoteCluster\nmetadata: { name: both }\nspec:\n  kubeconfigSecret: a\n  kubeconfigSecretRef: { name: b }\n`,
          /give exactly one of kubeconfigSecretRef \(\{name, namespace, key\}\) and kubeconfigSecret/,
        );
        await refused(
          `apiVersion: ${OPERATOR_API_VERSION}\nkind: RemoteCluster\nmetadata: { name: none }\nspec: { defaultSchedule: '0 * * * *' }\n`,
          /give exactly one of kubeconfigSecretRef/,
        );
        await refused(
          `apiVersion: ${OPERATOR_API_VERSION}\nkind: ClusterMapping\nmetadata: { name: half }\nspec: { sourceCluster: prod }\n`,
          /spec.targetCluster: Required value/,
        );
        const left = await kubectl([
          "get",
          "namespacemappings,remoteclusters,clustermappings",
          "-n",
          ns,
          "-o",
          "name",
        ]);
        assert.ok(!/typo|both|none|half/.test(left.stdout), left.stdout);
      },
    );

    await t.step(
      "a status written through the status subresource, as the runtime writes it, shows in kubectl get's columns",
      async () => {
        const now = Date.now();
        await ok(
          ["apply", "-n", ns, "-f", "-"],
          `apiVersion: ${OPERATOR_API_VERSION}
kind: NamespaceMapping
metadata: { name: shop }
spec:
  sourceCluster: source
  destinationCluster: dr
  sourceNamespace: shop
  replicationMode: Scheduled
  schedule: "*/5 * * * *"
`,
        );
        const object = JSON.parse(await ok(["get", "namespacemapping", "shop", "-n", ns, "-o", "json"]));
        const replication = configSchema.parse({
          clusters: [{ name: "source", kubeconfig: { path: "/x" } }, {
            name: "dr",
            kubeconfig: { path: "/y" },
          }],
          replications: [{
            name: "shop",
            source: { cluster: "source", namespace: "shop" },
            destination: { cluster: "dr" },
            schedule: "*/5 * * * *",
          }],
        }).replications[0]!;
        const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
        // the runtime's own writer of a mapping's status (functions/sources/mapping_status.ts)
        const status = mappingStatus({
          object,
          replication,
          status: {
            activeSide: "source",
            lastSuccess: { stage: iso(now - 192_000) },
            nextRun: iso(now + 108_000),
            rpo: { ageSeconds: 192, intervalSeconds: 300, ratio: 0.64, level: "ok" },
            lastRuns: [],
          } as unknown as ReplicationStatus,
          lastRun: {
            id: "run-1",
            operation: "stage",
            result: "succeeded",
            trigger: "schedule",
            startedAt: iso(now - 195_000),
            finishedAt: iso(now - 192_000),
            counts: { created: 3, updated: 1, unchanged: 40, failed: 0 },
            pvcData: { claims: 1, files: 20, bytes: 4096, wireBytes: 512 },
            durationMs: 3100,
          },
          now: new Date(now),
        });
        // written strictly: a field outside the CRD's status would be refused, not dropped
        const path = `/apis/dr-syncer.io/v1alpha1/namespaces/${ns}/namespacemappings/shop/status`;
        await clusters.dr.request({
          method: "PATCH",
          path,
          query: { fieldManager: "dr-syncer", fieldValidation: "Strict" },
          contentType: "application/merge-patch+json",
          body: { status },
        });
        const table = await ok(["get", "namespacemappings", "-n", ns]);
        const [header, ...rows] = table.trim().split("\n");
        assert.match(
          header!,
          /^NAME\s+SOURCE\s+DESTINATION\s+MODE\s+ACTIVE\s+PHASE\s+LAST SYNC\s+NEXT SYNC\s+RPO\s+AGE$/,
        );
        const row = rows.find((r) => r.startsWith("shop "))!;
        assert.match(
          row,
          new RegExp(
            `^shop\\s+source/shop\\s+dr/shop\\s+Scheduled\\s+source\\s+Synced\\s+3m1\\ds\\s+${
              iso(now + 108_000)
            }\\s+3m12s\\s+\\S+$`,
          ),
        );
        const wide = await ok(["get", "namespacemapping", "shop", "-n", ns, "-o", "wide"]);
        assert.match(wide.split("\n")[0]!, /RPO LEVEL\s+LAST RUN\s+MESSAGE/);
        assert.match(wide.split("\n")[1]!, /\s+ok\s+succeeded\s+/);
        show(`${table}${wide}`);

        // the fields of the contract the runtime's writer left out this time are accepted too, strictly
        await clusters.dr.request({
          method: "PATCH",
          path,
          query: { fieldManager: "dr-syncer", fieldValidation: "Strict" },
          contentType: "application/merge-patch+json",
          body: {
            status: {
              phase: "CutOver",
              activeSide: "dr",
              lastError: { message: "pvc-sync of claim data failed", time: iso(now) },
              message: "Cut over: DR serves",
              mode: "Paused",
              rpo: { level: "none" },
            },
          },
        });
        assert.match(await ok(["get", "drnm", "shop", "-n", ns]), /\s+Paused\s+dr\s+CutOver\s+/);
        // outside the contract: refused
        for (
          const [body, message] of [
            [{ phase: "Running" }, /status.phase: Unsupported value: "Running"/],
            [{ activeSide: "both" }, /status.activeSide: Unsupported value: "both"/],
            [{ rpo: { level: "fine" } }, /status.rpo.level: Unsupported value/],
            [{
              conditions: [{
                type: "Healthy",
                status: "True",
                reason: "X",
                message: "",
                lastTransitionTime: iso(now),
              }],
            }, /status.conditions\[0\].type: Unsupported value: "Healthy"/],
            [{ lastSyncTime: "yesterday" }, /status.lastSyncTime: Invalid value: "yesterday"/],
            [{ health: "Healthy" }, /unknown field "status.health"/],
          ] as const
        ) {
          await assert.rejects(
            clusters.dr.request({
              method: "PATCH",
              path,
              query: { fieldManager: "dr-syncer", fieldValidation: "Strict" },
              contentType: "application/merge-patch+json",
              body: { status: body },
            }),
            (error: Error) => message.test(error.message),
            JSON.stringify(body),
          );
        }
        // the spec's writers never touch the status: applying the mapping again keeps it
        await ok(["annotate", "namespacemapping", "shop", "-n", ns, "example.com/note=x"]);
        const after = JSON.parse(await ok(["get", "namespacemapping", "shop", "-n", ns, "-o", "json"]));
        assert.equal(after.status.phase, "CutOver");
      },
    );

    await t.step("kubectl describe shows the Events the runtime records about a mapping", async () => {
      const object = JSON.parse(await ok(["get", "namespacemapping", "shop", "-n", ns, "-o", "json"]));
      const now = new Date().toISOString();
      // as the runtime records one: a core Event whose involvedObject is the mapping
      for (
        const [type, reason, message] of [
          ["Normal", "Synced", "stage run-1 (schedule) succeeded: 3 created, 1 updated"],
          ["Warning", "Refused", "cutover asked by dr-syncer.io/cutover was refused: already cut over"],
        ]
      ) {
        await clusters.dr.request({
          method: "POST",
          path: `/api/v1/namespaces/${ns}/events`,
          body: {
            apiVersion: "v1",
            kind: "Event",
            metadata: { name: `shop.${crypto.randomUUID().slice(0, 8)}`, namespace: ns },
            involvedObject: {
              apiVersion: OPERATOR_API_VERSION,
              kind: NAMESPACE_MAPPING.kind,
              name: "shop",
              namespace: ns,
              uid: object.metadata.uid,
            },
            type,
            reason,
            message,
            source: { component: "dr-syncer" },
            reportingComponent: "dr-syncer.io/runtime",
            reportingInstance: "test",
            firstTimestamp: now,
            lastTimestamp: now,
            count: 1,
          },
        });
      }
      const described = await ok(["describe", "namespacemapping", "shop", "-n", ns]);
      assert.match(described, /^Name:\s+shop$/m);
      assert.match(described, /^Events:$/m);
      assert.match(
        described,
        /Normal\s+Synced\s+\S+\s+dr-syncer\s+stage run-1 \(schedule\) succeeded: 3 created, 1 updated/,
      );
      assert.match(
        described,
        /Warning\s+Refused\s+\S+\s+dr-syncer\s+cutover asked by dr-syncer.io\/cutover was refused/,
      );
      assert.match(described, /Phase:\s+CutOver/);
      show(described.split("\n").slice(-6).join("\n"));
    });

    await t.step(
      "short names and the category reach the three kinds; cm and rc stay ConfigMaps and ReplicationControllers",
      async () => {
        await ok(
          ["apply", "-n", ns, "-f", "-"],
          `apiVersion: ${OPERATOR_API_VERSION}
kind: RemoteCluster
metadata: { name: prod }
spec: { kubeconfigSecretRef: { name: prod-kubeconfig } }
---
apiVersion: ${OPERATOR_API_VERSION}
kind: ClusterMapping
metadata: { name: prod-to-dr }
spec: { sourceCluster: prod, targetCluster: dr }
`,
        );
        const all = await ok(["get", "dr-syncer", "-n", ns, "-o", "name"]);
        for (
          const name of [
            "remotecluster.dr-syncer.io/prod",
            "clustermapping.dr-syncer.io/prod-to-dr",
            "namespacemapping.dr-syncer.io/shop",
          ]
        ) {
          assert.ok(all.includes(name), `${name} in ${all}`);
        }
        assert.match(await ok(["get", "drrc", "-n", ns, "-o", "name"]), /remotecluster.dr-syncer.io\/prod/);
        assert.match(await ok(["get", "drcm", "-n", ns]), /^prod-to-dr\s+prod\s+dr\s+/m);
        assert.match(await ok(["get", "cm", "-n", ns, "-o", "name"]), /configmap\/kube-root-ca.crt/);
        assert.match(await ok(["explain", "rc"]), /KIND:\s+ReplicationController/);
      },
    );
  } finally {
    await deleteNamespace(clusters.dr, ns);
    for (const name of createdNamespaces) await deleteNamespace(clusters.dr, name);
    await Deno.remove(cacheDir, { recursive: true });
  }
});
