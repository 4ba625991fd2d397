/**
 * Real crashes: the CLI process is killed with SIGKILL at points spread over stage, cutover and
 * failback, then run again. The end state on both clusters must hold: every workload up on exactly
 * one side with its count, nothing lost, and no lock a re-run cannot take: once the killed run's lease
 * has passed (on the DR API server's clock), a plain re-run takes its lock, without --wait-for-lock.
 */
import assert from "node:assert/strict";
import { type KubeClient, type KubeObject, listObjects } from "../../shared/kube/mod.ts";
import { DEPLOYMENTS, STATEFULSETS } from "../../shared/kube/types.ts";
import { readReplicationState } from "../../shared/state/mod.ts";
import {
  DR_KUBECONFIG,
  fixtures,
  seed,
  SOURCE_KUBECONFIG,
  testClusters,
  withNamespaces,
} from "../_clusters.ts";

const ENTRY = new URL("../../functions/cli/main.ts", import.meta.url).pathname;
const LEASE_SECONDS = 3;

type Workload = KubeObject & { spec: { replicas?: number } };

function cliArgs(command: string, ns: { source: string; dest: string }, ...extra: string[]): string[] {
  return [
    "run",
    "-A",
    ENTRY,
    command,
    "--source-kubeconfig",
    SOURCE_KUBECONFIG,
    "--dest-kubeconfig",
    DR_KUBECONFIG,
    "--source-namespace",
    ns.source,
    "--dest-namespace",
    ns.dest,
    "--lease-seconds",
    String(LEASE_SECONDS),
    ...extra,
  ];
}

/** Runs the CLI to the end; its exit code, output and how long it took. */
async function run(args: string[]): Promise<{ code: number; ms: number; out: string; stdout: string }> {
  const t0 = performance.now();
  const out = await new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return {
    code: out.code,
    ms: performance.now() - t0,
    out: text,
    stdout: new TextDecoder().decode(out.stdout),
  };
}

/** Starts the CLI and kills it with SIGKILL after `ms` (if it is still running). */
async function killAfter(args: string[], ms: number): Promise<"killed" | "finished"> {
  const child = new Deno.Command(Deno.execPath(), { args, stdout: "null", stderr: "null" }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, ms);
  const status = await child.status;
  clearTimeout(timer);
  return status.signal === "SIGKILL" ? "killed" : "finished";
}

async function counts(client: KubeClient, ns: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const type of [DEPLOYMENTS, STATEFULSETS]) {
    for (const w of await listObjects<Workload>(client, type, ns)) {
      out[`${type.kind}/${w.metadata.name}`] = w.spec.replicas ?? 1;
    }
  }
  return out;
}

const zeroed = (live: Record<string, number>) => Object.fromEntries(Object.keys(live).map((k) => [k, 0]));

function workloads(ns: string): KubeObject[] {
  const out: KubeObject[] = [];
  for (let i = 0; i < 24; i++) out.push(fixtures.deployment(ns, `web-${i}`, 1 + (i % 4)));
  for (let i = 0; i < 4; i++) out.push(fixtures.statefulSet(ns, `db-${i}`, 1 + (i % 2)));
  for (let i = 0; i < 30; i++) out.push(fixtures.configMap(ns, `config-${i}`, { i: String(i) }));
  return out;
}

Deno.test("crash: SIGKILL at points spread over stage, cutover and failback; each re-run finishes the job", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "crash", async (ns) => {
    await seed(c.source, workloads(ns.source));
    const live = await counts(c.source, ns.source);
    const rerun = async (command: string) => {
      // the killed run left its lock: a re-run waits at most the lease for it
      const r = await run(cliArgs(command, ns, "--wait-for-lock", String(LEASE_SECONDS + 5)));
      assert.equal(r.code, 0, `${command} re-run: ${r.out}`);
    };
    const assertSourceLive = async (where: string) => {
      assert.deepEqual(await counts(c.source, ns.source), live, `${where}: the source runs every count`);
      assert.deepEqual(await counts(c.dr, ns.dest), zeroed(live), `${where}: DR stands by`);
    };
    const assertDrLive = async (where: string) => {
      assert.deepEqual(await counts(c.dr, ns.dest), live, `${where}: DR runs every count`);
      assert.deepEqual(await counts(c.source, ns.source), zeroed(live), `${where}: the source is down`);
    };

    // a kill lands at a fraction of the work, after the process has started (its start-up, measured
    // with --version, is most of a short run: a fraction of the whole would often land after the end)
    const startup = (await run(["run", "-A", ENTRY, "--version"])).ms;
    const at = (ms: number, fraction: number) => startup + Math.max(0, ms - startup) * fraction;

    // stage: killed early, mid-way and late, then run again
    const cold = (await run(cliArgs("stage", ns))).ms;
    await c.dr.request({ method: "DELETE", path: `/api/v1/namespaces/${ns.dest}` }); // start over from empty
    for (let i = 0; i < 100; i++) {
      if (
        (await c.dr.request<{ items: unknown[] }>({
          method: "GET",
          path: "/api/v1/namespaces",
          query: { fieldSelector: `metadata.name=${ns.dest}` },
        })).items.length === 0
      ) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    let killed = 0;
    for (const fraction of [0.3, 0.5, 0.7]) {
      if (await killAfter(cliArgs("stage", ns), at(cold, fraction)) === "killed") killed++;
      await rerun("stage");
      await assertSourceLive(`stage killed at ${fraction}`);
    }
    const warm = await run(cliArgs("stage", ns, "--output", "json"));
    assert.equal(JSON.parse(warm.stdout).counts.failed, 0);

    // cutover and failback: killed at points spread over each, then run again
    // each timed twice, the quicker kept: a first run is slower (caches), and a kill past the end kills nothing
    let cutoverMs = Infinity, failbackMs = Infinity;
    for (let i = 0; i < 2; i++) {
      cutoverMs = Math.min(cutoverMs, (await run(cliArgs("cutover", ns))).ms);
      failbackMs = Math.min(failbackMs, (await run(cliArgs("failback", ns))).ms);
    }
    // spread over the work, short of its end (a run takes up to a third longer than the quicker timing)
    for (const fraction of [0.2, 0.35, 0.5, 0.65, 0.8]) {
      if (await killAfter(cliArgs("cutover", ns), at(cutoverMs, fraction)) === "killed") killed++;
      await rerun("cutover");
      await assertDrLive(`cutover killed at ${fraction}`);
      assert.equal((await readReplicationState(c.dr, ns.dest)).activeSide, "dr");

      if (await killAfter(cliArgs("failback", ns), at(failbackMs, fraction)) === "killed") killed++;
      await rerun("failback");
      await assertSourceLive(`failback killed at ${fraction}`);
      assert.equal((await readReplicationState(c.dr, ns.dest)).activeSide, "source");
    }
    assert.ok(killed >= 8, `most runs were really killed mid-way (${killed} of 13)`);
  }, { destSuffix: "-dr" });
});

Deno.test("crash: a CLI cutover SIGKILLed mid-way; run again without --wait-for-lock it is refused within the lease and succeeds once it has passed", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "crashnowait", async (ns) => {
    await seed(c.source, workloads(ns.source));
    const live = await counts(c.source, ns.source);
    const leaseSeconds = 10;
    const args = (command: string) =>
      cliArgs(command, ns).map((a, i, all) => all[i - 1] === "--lease-seconds" ? String(leaseSeconds) : a);
    assert.equal((await run(args("stage"))).code, 0);
    // kill the cutover once it has begun scaling the source down (it holds the lock)
    const child = new Deno.Command(Deno.execPath(), { args: args("cutover"), stdout: "null", stderr: "null" })
      .spawn();
    for (let i = 0; i < 600; i++) {
      if (Object.values(await counts(c.source, ns.source)).some((n) => n === 0)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill("SIGKILL");
    const killed = await child.status;
    const killedAt = performance.now();
    assert.equal(killed.signal, "SIGKILL", "the cutover was killed mid-way");

    const early = await run(args("cutover"));
    assert.equal(early.code, 1, early.out);
    assert.match(early.out, /locked by run/, "within the lease, the killed run's lock still holds");

    // the lease (10 s) and the API server's one-second rounding, from the kill: no flag needed after it
    await new Promise((r) =>
      setTimeout(r, Math.max(0, (leaseSeconds + 2) * 1000 - (performance.now() - killedAt)))
    );
    const again = await run(args("cutover"));
    Deno.stderr.writeSync(
      new TextEncoder().encode(
        `measured: lease ${leaseSeconds} s; the re-run started ${
          ((performance.now() - again.ms - killedAt) / 1000).toFixed(1)
        } s after the kill and took ${(again.ms / 1000).toFixed(1)} s\n`,
      ),
    );
    assert.equal(again.code, 0, again.out);
    assert.deepEqual(await counts(c.dr, ns.dest), live, "DR runs every count");
    assert.deepEqual(await counts(c.source, ns.source), zeroed(live), "the source is down");
    assert.equal((await readReplicationState(c.dr, ns.dest)).activeSide, "dr");
  }, { destSuffix: "-dr" });
});
