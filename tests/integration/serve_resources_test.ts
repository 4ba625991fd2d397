/**
 * The original DR-Syncer's objects, live, with real kubectl: `serve` runs "in" the source cluster (its
 * home client), with no config file; the original README's RemoteCluster (`kubeconfigSecret`) and
 * NamespaceMapping (only `destinationCluster`) applied unchanged become a replication; the sync-now
 * annotation runs a stage; status, printer columns and Events show it; an edited type list applies at the
 * next run; `paused` stops the schedule; a malformed mapping gets a condition and writes nothing; a deleted
 * one stops (its copies kept, its last Event says so).
 */
import assert from "node:assert/strict";
import { operatorCrds } from "../../infra/operator_crds.ts";
import type { KubeObject } from "../../shared/kube/mod.ts";
import { applyObject } from "../../shared/kube/verbs.ts";
import { CRDS } from "../../shared/kube/types.ts";
import {
  createNamespace,
  deleteNamespace,
  DR_KUBECONFIG,
  fixtures,
  names,
  read,
  seed,
  SOURCE_KUBECONFIG,
  testClusters,
  uniqueName,
} from "../_clusters.ts";
import { serveProcess } from "./serve_harness.ts";

const KUBECTL = new TextDecoder().decode(
  (await new Deno.Command("bash", {
    args: [new URL("../testenv/testenv.sh", import.meta.url).pathname, "build-kubectl"],
    stdout: "piped",
    stderr: "inherit",
  }).output()).stdout,
).trim();

async function kubectl(args: string[], input?: string): Promise<string> {
  const child = new Deno.Command(KUBECTL, {
    args: ["--kubeconfig", SOURCE_KUBECONFIG, "--context", "source", ...args],
    stdin: input === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (input !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(input));
    await writer.close();
  }
  const out = await child.output();
  const text = new TextDecoder();
  if (!out.success) throw new Error(`kubectl ${args.join(" ")}: ${text.decode(out.stderr)}`);
  return text.decode(out.stdout);
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await fn().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

type Mapping = KubeObject & {
  spec: Record<string, unknown>;
  status?: {
    phase?: string;
    conditions?: { type: string; status: string; message: string }[];
    lastRun?: { id: string };
  };
};

Deno.test("serve: the original DR-Syncer's objects, live, with kubectl: apply, sync-now, get, describe, edit, pause, a bad one, delete", async () => {
  await using c = await testClusters();
  for (const crd of operatorCrds()) await applyObject(c.source, CRDS, crd);
  await until("the CRDs to be established", async () => {
    const crds = await Promise.all(
      operatorCrds().map((crd) =>
        read(c.source, "apiextensions.k8s.io/v1", "CustomResourceDefinition", undefined, crd.metadata.name)
      ),
    );
    return crds.every((crd) =>
        (crd as { status?: { conditions?: { type: string; status: string }[] } } | undefined)?.status
          ?.conditions?.some((x) => x.type === "Established" && x.status === "True")
      )
      ? true
      : undefined;
  });
  const home = uniqueName("drsys"); // the runtime's namespace, where the objects and the Secret live
  const app = uniqueName("production");
  const dest = `${app}-dr`;
  await createNamespace(c.source, home);
  await createNamespace(c.source, app);
  try {
    await seed(c.source, [fixtures.configMap(app, "settings"), {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "creds", namespace: app },
      stringData: { password: "s3cret" },
    } as KubeObject]);
    await kubectl([
      "-n",
      home,
      "create",
      "secret",
      "generic",
      "dr-cluster-kubeconfig",
      `--from-file=kubeconfig=${DR_KUBECONFIG}`,
    ]);
    // the original README's example, unchanged but for the namespaces of this test
    await kubectl(
      ["-n", home, "apply", "-f", "-"],
      `# Define a remote cluster
apiVersion: dr-syncer.io/v1alpha1
kind: RemoteCluster
metadata:
  name: dr-cluster
spec:
  kubeconfigSecret: dr-cluster-kubeconfig

---
# Define a replication
apiVersion: dr-syncer.io/v1alpha1
kind: NamespaceMapping
metadata:
  name: production-to-dr
spec:
  sourceNamespace: ${app}
  destinationNamespace: ${dest}
  destinationCluster: dr-cluster
  resourceTypes:
    - ConfigMap
  schedule: "0 */6 * * *"  # Every 6 hours
`,
    );
    await using serve = await serveProcess([], {
      DR_SYNCER_SECRETS_KUBECONFIG: SOURCE_KUBECONFIG,
      DR_SYNCER_RESOURCES: "on",
      DR_SYNCER_NAMESPACE: home,
      DR_SYNCER_RESOURCES_NAMESPACE: home,
    });
    const mapping = () =>
      read<Mapping>(c.source, "dr-syncer.io/v1alpha1", "NamespaceMapping", home, "production-to-dr");
    try {
      await until(
        "the mapping in use",
        async () => (await mapping())?.status?.phase === "Pending" ? true : undefined,
      );
    } catch (error) {
      throw new Error(`${error}: ${JSON.stringify((await mapping())?.status)}\n${serve.stderr()}`);
    }

    // sync-now: a stage; the annotation is removed once it started
    await kubectl([
      "-n",
      home,
      "annotate",
      "namespacemapping",
      "production-to-dr",
      "dr-syncer.io/sync-now=first",
    ]);
    const synced = await until("the stage", async () => {
      const m = await mapping();
      return m?.status?.phase === "Synced" ? m : undefined;
    }, 90_000);
    assert.equal(synced.metadata.annotations?.["dr-syncer.io/sync-now"], undefined, "the trigger is removed");
    assert.deepEqual(
      await names(c.dr, "v1", "ConfigMap", dest).then((n) => n.filter((x) => x === "settings")),
      ["settings"],
    );
    assert.deepEqual(await names(c.dr, "v1", "Secret", dest).catch(() => []), [], "only the listed types");

    const table = await kubectl(["-n", home, "get", "namespacemappings"]);
    assert.match(table, /production-to-dr/);
    assert.match(table, new RegExp(`local/${app}`), table);
    assert.match(table, new RegExp(`dr-cluster/${dest}`), table);
    assert.match(table, /Scheduled/);
    const described = await kubectl(["-n", home, "describe", "namespacemapping", "production-to-dr"]);
    assert.match(described, /Synced\s+.*stage .*succeeded/, described);

    // an edited type list applies at the next run
    await kubectl([
      "-n",
      home,
      "patch",
      "namespacemapping",
      "production-to-dr",
      "--type=merge",
      "-p",
      JSON.stringify({ spec: { resourceTypes: ["ConfigMap", "Secret"] } }),
    ]);
    const runId = synced.status?.lastRun?.id;
    await kubectl([
      "-n",
      home,
      "annotate",
      "--overwrite",
      "namespacemapping",
      "production-to-dr",
      "dr-syncer.io/sync-now=second",
    ]);
    await until("the second stage", async () => {
      const m = await mapping();
      return m?.status?.lastRun?.id !== runId && m?.status?.phase === "Synced" ? true : undefined;
    }, 90_000);
    assert.deepEqual(await names(c.dr, "v1", "Secret", dest).then((n) => n.filter((x) => x === "creds")), [
      "creds",
    ]);

    // paused: the schedule stops
    await kubectl([
      "-n",
      home,
      "patch",
      "namespacemapping",
      "production-to-dr",
      "--type=merge",
      "-p",
      '{"spec":{"paused":true}}',
    ]);
    await until("paused", async () => (await mapping())?.status?.phase === "Paused" ? true : undefined);

    // a malformed mapping: a condition saying what is wrong, nothing written
    await kubectl(
      ["-n", home, "apply", "-f", "-"],
      `apiVersion: dr-syncer.io/v1alpha1
kind: NamespaceMapping
metadata: { name: broken }
spec: { sourceNamespace: ${app}, destinationNamespace: ${app}-broken, destinationCluster: nowhere }
`,
    );
    const broken = await until("the broken mapping's condition", async () => {
      const m = await read<Mapping>(c.source, "dr-syncer.io/v1alpha1", "NamespaceMapping", home, "broken");
      return m?.status?.phase === "Invalid" ? m : undefined;
    });
    const ready = broken.status?.conditions?.find((x) => x.type === "Ready");
    assert.equal(ready?.status, "False");
    assert.match(ready?.message ?? "", /Unknown cluster "nowhere"/);
    assert.equal(
      await read(c.dr, "v1", "Namespace", undefined, `${app}-broken`),
      undefined,
      "nothing written",
    );

    // deleted: the replication stops, the copies stay, the last Event says so
    await kubectl(["-n", home, "delete", "namespacemapping", "production-to-dr"]);
    const events = await until("the last Event", async () => {
      const out = await kubectl([
        "-n",
        home,
        "get",
        "events",
        "--field-selector",
        "involvedObject.name=production-to-dr",
        "-o",
        "json",
      ]);
      const items = (JSON.parse(out) as { items: { reason: string; message: string }[] }).items;
      return items.some((e) => e.reason === "Deleted") ? items : undefined;
    });
    assert.match(events.find((e) => e.reason === "Deleted")!.message, /copies on DR are kept/);
    assert.ok((await names(c.dr, "v1", "ConfigMap", dest)).includes("settings"), "the DR copies are kept");
    const status = await serve.stop("SIGTERM");
    assert.equal(status.code, 0, serve.stderr());
  } finally {
    await deleteNamespace(c.source, home);
    await deleteNamespace(c.source, app);
    await deleteNamespace(c.dr, dest);
  }
});
