/**
 * The runtime follows its configuration while it runs, against the real test clusters:
 *
 * - the config file reloaded by a real `serve` process: a replication added to the file syncs without a
 *   restart; an invalid version (a bad reference, then broken YAML) is refused, the last good configuration
 *   keeps running, and why is in the log, the metrics and `GET /v1/replications`; the fixed file is taken;
 * - a NamespaceMapping applied with kubectl while `serve` runs syncs within seconds; an edited schedule shows
 *   in its next sync time and runs at the next tick; `paused: true` makes a due tick run nothing (and stops
 *   the watch), unpausing makes the next one run. The ticks are the ones `serve` registers with Deno.cron,
 *   fired by the test at chosen minutes (`tickAt`), so no test waits for a real minute;
 * - the cutover and failback annotations on a mapping run a real cutover (source at zero, DR up) and
 *   failback, are removed once started, and show in the status and Events; refused triggers (a cutover
 *   while the stage asked with it runs, a failback with nothing cut over, a sync-now while cut over) leave
 *   a `Refused` Event the runtime wrote, read back with kubectl; a cutover asked again has nothing to do.
 */
import assert from "node:assert/strict";
import { registerScheduleTick } from "../../functions/cron/schedule_tick.ts";
import { runServe } from "../../functions/serve/main.ts";
import { operatorCrds } from "../../infra/operator_crds.ts";
import { isNotFound, type KubeClient, type KubeObject } from "../../shared/kube/mod.ts";
import { CRDS } from "../../shared/kube/types.ts";
import { applyObject } from "../../shared/kube/verbs.ts";
import { derivedRunId, RunRecordStore } from "../../shared/runs/mod.ts";
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
  withNamespaces,
} from "../_clusters.ts";
import { replication, testConfigInput, TOKENS } from "./http_harness.ts";
import { kubectl as runKubectl } from "./kubectl_harness.ts";
import { serveProcess } from "./serve_harness.ts";

const CACHE_DIR = await Deno.makeTempDir({ prefix: "dr-syncer-kubectl-cache-" });

/** Real kubectl against the source cluster (where the runtime "runs" and the objects live). */
async function kubectl(args: string[], input?: string): Promise<string> {
  const out = await runKubectl(SOURCE_KUBECONFIG, CACHE_DIR, ["--context", "source", ...args], input);
  if (out.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${out.stderr}`);
  return out.stdout;
}

/** Polls `fn` until it gives a value (errors count as not yet), or fails after `ms` naming `what`. */
async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ""}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A measured time, on stderr. */
const note = (text: string) => Deno.stderr.writeSync(new TextEncoder().encode(`${text}\n`));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The sum of a metric's series whose labels include `labels` (0 when there is none). */
function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

async function installCrds(client: KubeClient): Promise<void> {
  for (const crd of operatorCrds()) await applyObject(client, CRDS, crd);
  await until("the CRDs to be established", async () => {
    const crds = await Promise.all(
      operatorCrds().map((crd) =>
        read(client, "apiextensions.k8s.io/v1", "CustomResourceDefinition", undefined, crd.metadata.name)
      ),
    );
    return crds.every((crd) =>
        (crd as { status?: { conditions?: { type: string; status: string }[] } } | undefined)?.status
          ?.conditions?.some((x) => x.type === "Established" && x.status === "True")
      )
      ? true
      : undefined;
  });
}

/**
 * A NamespaceMapping, read by its path (the clusters helpers' `read` resolves types through a discovery
 * cached per client, which may predate the CRDs).
 */
async function getMapping(client: KubeClient, namespace: string, name: string): Promise<Mapping | undefined> {
  try {
    return await client.request<Mapping>({
      method: "GET",
      path: `/apis/dr-syncer.io/v1alpha1/namespaces/${namespace}/namespacemappings/${name}`,
    });
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

interface Mapping extends KubeObject {
  spec: Record<string, unknown>;
  status?: {
    observedGeneration?: number;
    phase?: string;
    mode?: string;
    activeSide?: string;
    nextSyncTime?: string;
    conditions?: { type: string; status: string; reason: string; message: string }[];
    lastRun?: { id: string; operation: string; result: string; trigger: string };
  };
}

interface EventItem {
  type: string;
  reason: string;
  message: string;
  source?: { component?: string };
  reportingComponent?: string;
  involvedObject: { kind: string; name: string; uid?: string };
}

/** The runtime's namespace with the original README's RemoteCluster (its kubeconfig Secret beside it). */
async function remoteCluster(home: string): Promise<void> {
  await kubectl([
    "-n",
    home,
    "create",
    "secret",
    "generic",
    "dr-cluster-kubeconfig",
    `--from-file=kubeconfig=${DR_KUBECONFIG}`,
  ]);
  await kubectl(
    ["-n", home, "apply", "-f", "-"],
    `apiVersion: dr-syncer.io/v1alpha1
kind: RemoteCluster
metadata:
  name: dr-cluster
spec:
  kubeconfigSecret: dr-cluster-kubeconfig
`,
  );
}

/** The environment of a `serve` that runs "in" the source cluster and reads the objects of `home`. */
function resourcesEnv(home: string): Record<string, string> {
  return {
    DR_SYNCER_SECRETS_KUBECONFIG: SOURCE_KUBECONFIG,
    DR_SYNCER_RESOURCES: "on",
    DR_SYNCER_NAMESPACE: home,
    DR_SYNCER_RESOURCES_NAMESPACE: home,
  };
}

async function replicas(client: KubeClient, namespace: string, name: string): Promise<number | undefined> {
  const d = await read<KubeObject & { spec?: { replicas?: number } }>(
    client,
    "apps/v1",
    "Deployment",
    namespace,
    name,
  );
  return d?.spec?.replicas;
}

// ---------------------------------------------------------------------------------------------------------
// 1. The config file, reloaded by a real `serve` process
// ---------------------------------------------------------------------------------------------------------

/** Replaces the file at once (a new file renamed over it, as a ConfigMap mount swaps its files). */
async function replaceFile(path: string, text: string): Promise<void> {
  const next = `${path}.next`;
  await Deno.writeTextFile(next, text);
  await Deno.rename(next, path);
}

interface LogLine {
  msg: string;
  generation?: number;
  error?: unknown;
}

Deno.test("serve: the config file reloaded: a new replication syncs without a restart; an invalid version is refused (log, metric, status) and the last good one runs; the fixed file is taken", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "reload", async (ns) => {
    await seed(c.source, [fixtures.configMap(ns.source, "before")]);
    const dir = await Deno.makeTempDir({ prefix: "dr-syncer-reload-" });
    const path = `${dir}/config.yaml`;
    const first = replication("first", ns.source, `${ns.source}-first`); // manual: never runs here
    const second = replication("second", ns.source, ns.dest, {
      mode: "continuous",
      resourceTypes: ["configmaps"],
    });
    await Deno.writeTextFile(path, JSON.stringify(testConfigInput([first]), null, 2));
    await using serve = await serveProcess(["--config", path, "--drain-seconds", "5"]);
    const headers = { authorization: `Bearer ${TOKENS.read}` };
    const replications = async () =>
      await (await fetch(`${serve.url}/v1/replications`, { headers })).json() as {
        replications: { name: string; destination: { cluster: string } }[];
        config: { generation: number; error?: { origin: string; message: string } };
      };
    const metrics = async () => await (await fetch(`${serve.url}/metrics`)).text();
    const logs = () =>
      serve.stderr().trim().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as LogLine);
    assert.deepEqual((await replications()).replications.map((r) => r.name), ["first"]);

    // a replication added to the file: taken and syncing, no restart
    const added = Date.now();
    await replaceFile(path, JSON.stringify(testConfigInput([first, second]), null, 2));
    await until(
      "the new replication's first sync",
      async () => (await names(c.dr, "v1", "ConfigMap", ns.dest)).includes("before") ? true : undefined,
    );
    const addedMs = Date.now() - added;
    note(`config file: new replication synced ${addedMs} ms after the file changed`);
    assert.ok(addedMs < 15_000, `synced within seconds (${addedMs} ms)`);
    let listed = await replications();
    assert.deepEqual(listed.replications.map((r) => r.name), ["first", "second"]);
    assert.equal(listed.config.generation, 2);
    assert.equal(listed.config.error, undefined);
    let text = await metrics();
    assert.equal(metric(text, "dr_syncer_config_reloads_total", { source: "file", result: "applied" }), 1);
    assert.equal(metric(text, "dr_syncer_config_generation"), 2);
    assert.equal(metric(text, "dr_syncer_replications"), 2);
    assert.equal(metric(text, "dr_syncer_config_invalid", { source: "file" }), 0);
    assert.ok(logs().some((l) => l.msg === "config file reloaded" && l.generation === 2), serve.stderr());

    // an invalid version (a cluster no one defines): refused, the last good configuration keeps running
    const bad = { ...second, destination: { cluster: "nowhere", namespace: ns.dest } };
    await replaceFile(path, JSON.stringify(testConfigInput([first, bad]), null, 2));
    listed = await until("the refusal in the status", async () => {
      const r = await replications();
      return r.config.error ? r : undefined;
    });
    assert.equal(listed.config.error?.origin, "config file");
    assert.match(listed.config.error?.message ?? "", /nowhere/);
    assert.equal(listed.config.generation, 2, "no new generation");
    assert.deepEqual(
      listed.replications.map((r) => [r.name, r.destination.cluster]),
      [["first", "dr"], ["second", "dr"]],
      "the last good configuration is in force",
    );
    text = await metrics();
    assert.equal(metric(text, "dr_syncer_config_reloads_total", { source: "file", result: "invalid" }), 1);
    assert.equal(metric(text, "dr_syncer_config_invalid", { source: "file" }), 1);
    assert.equal(metric(text, "dr_syncer_config_generation"), 2);
    const refusedLine = logs().find((l) => l.msg.startsWith("config file refused"));
    assert.ok(refusedLine, serve.stderr());
    assert.match(JSON.stringify(refusedLine.error), /nowhere/);
    const page = await (await fetch(`${serve.url}/`, { headers })).text();
    assert.match(page, /The last version of the config file was refused/);
    assert.match(page, /nowhere/);
    // ...and still runs: the continuous replication of the last good version copies a new object
    await seed(c.source, [fixtures.configMap(ns.source, "while-refused")]);
    await until(
      "a change synced while the file is refused",
      async () =>
        (await names(c.dr, "v1", "ConfigMap", ns.dest)).includes("while-refused") ? true : undefined,
      15_000,
    );

    // a version that is not even YAML: refused too, with the parser's reason
    await replaceFile(path, "replications: [ {name: broken\n");
    await until("the second refusal", async () => {
      const t = await metrics();
      return metric(t, "dr_syncer_config_reloads_total", { source: "file", result: "invalid" }) === 2
        ? true
        : undefined;
    });
    listed = await replications();
    assert.equal(listed.config.error?.origin, "config file");
    assert.doesNotMatch(listed.config.error?.message ?? "", /nowhere/, "the newest reason");
    assert.equal(listed.replications.length, 2);

    // fixed: taken, the refusal cleared
    const third = replication("third", ns.source, `${ns.source}-third`);
    await replaceFile(path, JSON.stringify(testConfigInput([first, second, third]), null, 2));
    listed = await until("the fixed file taken", async () => {
      const r = await replications();
      return r.config.generation === 3 ? r : undefined;
    });
    assert.equal(listed.config.error, undefined);
    assert.deepEqual(listed.replications.map((r) => r.name), ["first", "second", "third"]);
    text = await metrics();
    assert.equal(metric(text, "dr_syncer_config_reloads_total", { source: "file", result: "applied" }), 2);
    assert.equal(metric(text, "dr_syncer_config_invalid", { source: "file" }), 0);
    assert.equal(metric(text, "dr_syncer_replications"), 3);
    assert.ok(logs().some((l) => l.msg === "config file reloaded" && l.generation === 3), serve.stderr());
    assert.doesNotMatch(
      await (await fetch(`${serve.url}/`, { headers })).text(),
      /was refused/,
      "the page no longer shows a refusal",
    );

    const exit = await serve.stop("SIGTERM");
    assert.equal(exit.code, 0, serve.stderr());
    await Deno.remove(dir, { recursive: true });
  }, { destSuffix: "-dr" });
});

// ---------------------------------------------------------------------------------------------------------
// 2. Live NamespaceMapping changes; the schedule tick fired at chosen minutes
// ---------------------------------------------------------------------------------------------------------

/** The handler `registerScheduleTick` gives Deno.cron, captured instead of registered. */
let cronHandler: (() => Promise<void>) | undefined;

function captureScheduleTick(): () => Promise<void> {
  if (cronHandler) return cronHandler;
  const original = Object.getOwnPropertyDescriptor(Deno, "cron")!;
  Object.defineProperty(Deno, "cron", {
    configurable: true,
    value: (_name: string, _schedule: string, _options: unknown, handler: () => Promise<void>) => {
      cronHandler = handler;
      return Promise.resolve();
    },
  });
  try {
    registerScheduleTick();
  } finally {
    Object.defineProperty(Deno, "cron", original);
  }
  if (!cronHandler) throw new Error("registerScheduleTick registered no Deno.cron handler");
  return cronHandler;
}

/**
 * Fires serve's tick as Deno.cron would at `at`: the handler reads the time with `new Date()` as it
 * starts, which here gives `at` (only while the handler's synchronous start runs; every later read of the
 * clock is the real one).
 */
async function tickAt(at: Date): Promise<void> {
  const handler = captureScheduleTick();
  const RealDate = Date;
  globalThis.Date = new Proxy(RealDate, {
    construct: (target, args, newTarget) =>
      args.length === 0 ? new target(at.getTime()) : Reflect.construct(target, args, newTarget),
  });
  let fired: Promise<void>;
  try {
    fired = handler();
  } finally {
    globalThis.Date = RealDate;
  }
  await fired;
}

/** `runServe` in this process with its schedules on (their tick fired by `tickAt`), no config file. */
async function serveWithTicks(env: Record<string, string>) {
  captureScheduleTick();
  let err = "";
  const stop = Promise.withResolvers<string>();
  const listening = Promise.withResolvers<string>();
  const exit = runServe(["--port", "0", "--drain-seconds", "5"], {
    stdout: () => {},
    stderr: (t) => err += t,
    env: (name) => env[name],
    stopRequested: stop.promise,
    schedules: true,
    onListen: ({ hostname, port }) => listening.resolve(`http://${hostname}:${port}`),
  });
  exit.then((code) => listening.reject(new Error(`serve exited with ${code} before listening: ${err}`)));
  const url = await listening.promise;
  let stopped: Promise<number> | undefined;
  const doStop = () => {
    stop.resolve("test");
    return stopped ??= exit;
  };
  return {
    url,
    stderr: () => err,
    stop: doStop,
    async [Symbol.asyncDispose]() {
      await doStop();
    },
  };
}

const MINUTE = 60_000;

Deno.test("serve: a NamespaceMapping added while serve runs syncs within seconds; an edited schedule applies at the next tick; paused: a due tick runs nothing, unpaused the next one runs", async () => {
  await using c = await testClusters();
  await installCrds(c.source);
  const home = uniqueName("drlive");
  const app = uniqueName("liveapp");
  const dest = `${app}-dr`;
  await createNamespace(c.source, home);
  await createNamespace(c.source, app);
  try {
    await seed(c.source, [fixtures.configMap(app, "settings")]);
    await remoteCluster(home);
    await using serve = await serveWithTicks(resourcesEnv(home));
    const metrics = async () => await (await fetch(`${serve.url}/metrics`)).text();
    const mapping = () => getMapping(c.source, home, "live");
    const patch = (spec: Record<string, unknown>) =>
      kubectl([
        "-n",
        home,
        "patch",
        "namespacemapping",
        "live",
        "--type=merge",
        "-p",
        JSON.stringify({ spec }),
      ]);
    const store = new RunRecordStore(c.dr);
    const scheduleRuns = async () =>
      (await store.list(dest, "live").catch(() => [])).filter((r) => r.trigger === "schedule");
    /** No run of the replication in progress (a watch stage would make a tick an overlap). */
    const quiet = () =>
      until(
        "no run in progress",
        async () => metric(await metrics(), "dr_syncer_runs_in_progress") === 0 ? true : undefined,
      );
    const ticksStarted = async () =>
      metric(await metrics(), "dr_syncer_schedule_ticks_total", { replication: "live", outcome: "started" });

    // a new mapping while serve runs: continuous, so its watch stages it at once
    const applied = Date.now();
    await kubectl(
      ["-n", home, "apply", "-f", "-"],
      `apiVersion: dr-syncer.io/v1alpha1
kind: NamespaceMapping
metadata:
  name: live
spec:
  sourceNamespace: ${app}
  destinationNamespace: ${dest}
  destinationCluster: dr-cluster
  replicationMode: Continuous
  resourceTypes: [ConfigMap]
  schedule: "0 0 1 1 *"
`,
    );
    try {
      await until(
        "the new mapping's first sync",
        async () => (await names(c.dr, "v1", "ConfigMap", dest)).includes("settings") ? true : undefined,
      );
    } catch (error) {
      throw new Error(`${error}: ${JSON.stringify((await mapping())?.status)}\n${serve.stderr()}`);
    }
    const syncedMs = Date.now() - applied;
    note(`NamespaceMapping: synced ${syncedMs} ms after kubectl apply`);
    assert.ok(syncedMs < 15_000, `synced within seconds (${syncedMs} ms)`);
    const yearly = await until("the mapping's next sync time", async () => {
      const m = await mapping();
      return m?.status?.mode === "Continuous" && m.status.nextSyncTime ? m : undefined;
    });
    const newYear = Date.UTC(new Date().getUTCFullYear() + 1, 0, 1);
    assert.equal(
      Date.parse(yearly.status!.nextSyncTime!),
      newYear,
      "the next sync: the schedule's next time",
    );

    // the ticks this test fires: minutes ahead, none of them a time the first schedule names
    let base = Math.ceil((Date.now() + 1_000) / MINUTE) * MINUTE;
    while ([0, 1, 2, 3].some((k) => base + k * MINUTE === newYear)) base += 4 * MINUTE;
    const slot = (k: number) => new Date(base + k * MINUTE);
    const at = (k: number) => new Date(base + k * MINUTE + 1_000);
    const tickRunId = (k: number) => derivedRunId("tick", "live", "stage", slot(k).toISOString());

    // the old schedule does not name that minute: the tick runs nothing
    await quiet();
    await tickAt(at(0));
    assert.equal(await ticksStarted(), 0);
    assert.deepEqual(await scheduleRuns(), []);

    // the schedule edited: the next sync time follows, and the next tick runs it
    const watchRuns = async () =>
      metric(await metrics(), "dr_syncer_runs_total", { operation: "stage", trigger: "watch" });
    const watchRunsBefore = await watchRuns();
    await patch({ schedule: "* * * * *" });
    const edited = await until("the edited schedule in the status", async () => {
      const m = await mapping();
      const next = Date.parse(m?.status?.nextSyncTime ?? "");
      return m?.status?.observedGeneration === m?.metadata.generation && next % MINUTE === 0 &&
          next - Date.now() <= MINUTE + 1_000
        ? m
        : undefined;
    }, 10_000);
    assert.notEqual(edited.status?.nextSyncTime, yearly.status?.nextSyncTime);
    // the changed replication got a new watcher, whose first pass stages everything: let it finish
    await until(
      "the new watcher's first pass",
      async () => await watchRuns() > watchRunsBefore ? true : undefined,
    );
    await quiet();
    await tickAt(at(1));
    assert.equal(await ticksStarted(), 1, serve.stderr());
    const ticked = await until("the tick's run", async () => {
      const record = await store.get(dest, tickRunId(1));
      return record?.status === "succeeded" ? record : undefined;
    });
    assert.equal(ticked.trigger, "schedule");
    await until("the tick's run in the mapping's status", async () => {
      const m = await mapping();
      return m?.status?.lastRun?.id === tickRunId(1) ? true : undefined;
    }, 10_000);

    // paused: the watch stops and a due tick runs nothing
    await patch({ paused: true });
    const paused = await until("paused", async () => {
      const m = await mapping();
      return m?.status?.phase === "Paused" ? m : undefined;
    }, 10_000);
    assert.equal(paused.status?.mode, "Paused");
    assert.equal(paused.status?.nextSyncTime, undefined, "no next sync while paused");
    await sleep(1_000);
    await seed(c.source, [fixtures.configMap(app, "during-pause")]);
    await quiet();
    await tickAt(at(2));
    await sleep(3_000);
    assert.equal(await store.get(dest, tickRunId(2)), undefined, "no run for the paused slot");
    assert.equal((await scheduleRuns()).length, 1);
    assert.equal(await ticksStarted(), 1);
    assert.equal(
      metric(await metrics(), "dr_syncer_runs_total", { operation: "stage", trigger: "schedule" }),
      1,
    );
    assert.ok(
      !(await names(c.dr, "v1", "ConfigMap", dest)).includes("during-pause"),
      "the watch is stopped while paused",
    );

    // unpaused: the watch resumes and the next due tick runs
    await patch({ paused: false });
    await until("unpaused", async () => {
      const m = await mapping();
      return m?.status?.mode === "Continuous" && m.status.phase !== "Paused" && m.status.nextSyncTime
        ? true
        : undefined;
    }, 10_000);
    await until(
      "the watch's stage of the change made while paused",
      async () => (await names(c.dr, "v1", "ConfigMap", dest)).includes("during-pause") ? true : undefined,
      15_000,
    );
    await quiet();
    await tickAt(at(3));
    assert.equal(await ticksStarted(), 2, serve.stderr());
    await until("the next tick's run", async () => {
      const record = await store.get(dest, tickRunId(3));
      return record?.status === "succeeded" ? true : undefined;
    });
    assert.deepEqual((await scheduleRuns()).map((r) => r.runId).sort(), [tickRunId(1), tickRunId(3)].sort());

    assert.equal(await serve.stop(), 0, serve.stderr());
  } finally {
    await deleteNamespace(c.source, home);
    await deleteNamespace(c.source, app);
    await deleteNamespace(c.dr, dest);
  }
});

// ---------------------------------------------------------------------------------------------------------
// 3. and 4. Cutover and failback by annotation; refusals as Events
// ---------------------------------------------------------------------------------------------------------

Deno.test("serve: cutover and failback annotations on a NamespaceMapping: source to zero and DR up, then back; annotations removed; status and Events; refused triggers are Refused Events", async () => {
  await using c = await testClusters();
  await installCrds(c.source);
  const home = uniqueName("drcut");
  const app = uniqueName("cutapp");
  const dest = `${app}-dr`;
  await createNamespace(c.source, home);
  await createNamespace(c.source, app);
  try {
    await seed(c.source, [fixtures.configMap(app, "settings"), fixtures.deployment(app, "web", 2)]);
    await remoteCluster(home);
    await kubectl(
      ["-n", home, "apply", "-f", "-"],
      `apiVersion: dr-syncer.io/v1alpha1
kind: NamespaceMapping
metadata:
  name: shop
spec:
  sourceNamespace: ${app}
  destinationNamespace: ${dest}
  destinationCluster: dr-cluster
  replicationMode: Manual
  resourceTypes: [ConfigMap, Deployment]
`,
    );
    await using serve = await serveProcess(["--drain-seconds", "5"], resourcesEnv(home));
    const mapping = () => getMapping(c.source, home, "shop");
    const annotate = (annotation: string, value: string) =>
      kubectl(["-n", home, "annotate", "--overwrite", "namespacemapping", "shop", `${annotation}=${value}`]);
    const events = async () =>
      (JSON.parse(
        await kubectl([
          "-n",
          home,
          "get",
          "events",
          "--field-selector",
          "involvedObject.kind=NamespaceMapping,involvedObject.name=shop",
          "-o",
          "json",
        ]),
      ) as { items: EventItem[] }).items;
    const eventOf = (reason: string, match: RegExp) =>
      until(`a ${reason} Event matching ${match}`, async () => {
        return (await events()).find((e) => e.reason === reason && match.test(e.message));
      }, 30_000);
    /** Waits for the run an annotation asked for: a new last run of `operation`, the mapping in `phase`. */
    const settledRun = async (operation: string, phase: string, before: string | undefined) => {
      const started = Date.now();
      try {
        const m = await until(`the ${operation} in the status`, async () => {
          const m = await mapping();
          return m?.status?.lastRun?.operation === operation && m.status.lastRun.id !== before &&
              m.status.phase === phase
            ? m
            : undefined;
        }, 20_000); // the status follows the run at once, not at the next 30 s resync
        note(`${operation}: status ${phase} ${Date.now() - started} ms after the annotation`);
        return m;
      } catch (error) {
        throw new Error(`${error}: ${JSON.stringify((await mapping())?.status)}\n${serve.stderr()}`);
      }
    };
    await until(
      "the mapping in use",
      async () => (await mapping())?.status?.phase === "Pending" ? true : undefined,
    );

    // staged first (DR at zero, the count recorded); a cutover asked for at the same time is refused at
    // once (the stage it asked for first is in progress): a Refused Event, no run, the annotation removed
    await kubectl([
      "-n",
      home,
      "annotate",
      "namespacemapping",
      "shop",
      "dr-syncer.io/sync-now=first",
      "dr-syncer.io/cutover=during-the-stage",
    ]);
    let m = await settledRun("stage", "Synced", undefined);
    assert.equal(await replicas(c.dr, dest, "web"), 0, "DR stands by at zero");
    assert.equal(await replicas(c.source, app, "web"), 2, "the refused cutover did nothing");
    const busy = await eventOf(
      "Refused",
      /cutover asked by dr-syncer\.io\/cutover was refused: .*in progress/,
    );
    assert.equal(busy.type, "Warning");
    await until("both annotations removed", async () => {
      const x = await mapping();
      return x !== undefined && x.metadata.annotations?.["dr-syncer.io/sync-now"] === undefined &&
          x.metadata.annotations?.["dr-syncer.io/cutover"] === undefined
        ? true
        : undefined;
    });

    // a failback with nothing cut over: refused by the run, as a Warning Event the runtime wrote
    await annotate("dr-syncer.io/failback", "too-early");
    const early = await eventOf("Refused", /failback .*\(resource\) failed: .*not cut over/);
    assert.equal(early.type, "Warning");
    assert.equal(early.source?.component, "dr-syncer");
    assert.equal(early.reportingComponent, "dr-syncer.io/runtime");
    assert.equal(early.involvedObject.uid, m.metadata.uid);
    await until("the refused failback's annotation removed", async () => {
      const x = await mapping();
      return x?.metadata.annotations?.["dr-syncer.io/failback"] === undefined ? true : undefined;
    });
    assert.equal(await replicas(c.source, app, "web"), 2, "the refused failback changed nothing");
    m = (await mapping())!;

    // cutover by annotation: the source to zero, DR up to the recorded count
    await annotate("dr-syncer.io/cutover", "now");
    const cut = await settledRun("cutover", "CutOver", m.status?.lastRun?.id);
    assert.equal(cut.status?.lastRun?.result, "succeeded");
    assert.equal(cut.status?.lastRun?.trigger, "resource");
    assert.equal(cut.status?.activeSide, "dr");
    assert.equal(cut.status?.conditions?.find((x) => x.type === "CutOver")?.status, "True");
    assert.equal(cut.metadata.annotations?.["dr-syncer.io/cutover"], undefined, "the annotation is removed");
    assert.equal(await replicas(c.source, app, "web"), 0, "the source scaled to zero");
    assert.equal(await replicas(c.dr, dest, "web"), 2, "DR scaled up");
    await eventOf("CutOver", /cutover .*\(resource\) succeeded/);

    // a sync-now while cut over: refused (it would scale the live DR side to zero), DR keeps serving
    await annotate("dr-syncer.io/sync-now", "while-cut-over");
    const refused = await eventOf("Refused", /stage .*\(resource\) failed: .*cut over to DR/);
    assert.equal(refused.type, "Warning");
    await until("the refused sync-now's annotation removed", async () => {
      const x = await mapping();
      return x?.metadata.annotations?.["dr-syncer.io/sync-now"] === undefined ? true : undefined;
    });
    assert.equal(await replicas(c.dr, dest, "web"), 2, "DR still serves");
    assert.equal(await replicas(c.source, app, "web"), 0);
    const described = await kubectl(["-n", home, "describe", "namespacemapping", "shop"]);
    assert.match(described, /Warning\s+Refused\s+.*stage .*cut over to DR/, described);
    m = (await mapping())!;
    assert.equal(m.status?.activeSide, "dr");

    // a cutover asked for again: not refused, a cutover already done has nothing to do; DR keeps serving
    await annotate("dr-syncer.io/cutover", "again");
    m = await settledRun("cutover", "CutOver", m.status?.lastRun?.id);
    assert.equal(m.status?.lastRun?.result, "succeeded");
    assert.equal(await replicas(c.dr, dest, "web"), 2);
    assert.equal(await replicas(c.source, app, "web"), 0);

    // failback by annotation: back to the source
    await annotate("dr-syncer.io/failback", "now");
    const back = await settledRun("failback", "Synced", m.status?.lastRun?.id);
    assert.equal(back.status?.lastRun?.result, "succeeded");
    assert.equal(back.status?.activeSide, "source");
    assert.equal(back.status?.conditions?.find((x) => x.type === "CutOver")?.status, "False");
    assert.equal(
      back.metadata.annotations?.["dr-syncer.io/failback"],
      undefined,
      "the annotation is removed",
    );
    assert.equal(await replicas(c.source, app, "web"), 2, "the source back to its count");
    assert.equal(await replicas(c.dr, dest, "web"), 0, "DR back to standby");
    await eventOf("FailedBack", /failback .*\(resource\) succeeded/);

    const records = await new RunRecordStore(c.dr).list(dest, "shop");
    assert.deepEqual(
      records.map((r) => [r.operation, r.trigger, r.status]).reverse(),
      [
        ["stage", "resource", "succeeded"],
        ["failback", "resource", "failed"],
        ["cutover", "resource", "succeeded"],
        ["stage", "resource", "failed"],
        ["cutover", "resource", "succeeded"],
        ["failback", "resource", "succeeded"],
      ],
    );
    const exit = await serve.stop("SIGTERM");
    assert.equal(exit.code, 0, serve.stderr());
  } finally {
    await deleteNamespace(c.source, home);
    await deleteNamespace(c.source, app);
    await deleteNamespace(c.dr, dest);
  }
});
