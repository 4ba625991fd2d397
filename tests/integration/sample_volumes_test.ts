/**
 * `deno task demo` and `deno task start` on clusters as `testenv.sh up` makes them, with the default
 * StorageClass and its provisioner: the sample shop's claims bind and its pods run on the side that serves,
 * the StatefulSet's on DR after cutover and on the source again after failback. A pair of clusters of its
 * own (the demo and start use the fixed namespace demo-shop, as the other start test does on the shared pair).
 */
import assert from "node:assert/strict";
import { connectCluster, type KubeClient, type KubeObject } from "../../shared/kube/mod.ts";

const ENTRY = new URL("../../functions/cli/main.ts", import.meta.url).pathname;
const TESTENV = new URL("../testenv/testenv.sh", import.meta.url).pathname;
const NS = "demo-shop";
type Phased = KubeObject & { status?: { phase?: string }; spec?: { nodeName?: string; volumeName?: string } };

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** db-0 runs, on a node, and the claims it and the web pods mount are bound to volumes. */
async function shopRuns(client: KubeClient): Promise<true | undefined> {
  const pod = await client.request<Phased>({ method: "GET", path: `/api/v1/namespaces/${NS}/pods/db-0` })
    .catch(() => undefined);
  if (pod?.status?.phase !== "Running" || !pod.spec?.nodeName || pod.metadata.deletionTimestamp) return;
  for (const claim of ["data-db-0", "uploads"]) {
    const c = await client.request<Phased>({
      method: "GET",
      path: `/api/v1/namespaces/${NS}/persistentvolumeclaims/${claim}`,
    });
    if (c.status?.phase !== "Bound" || !c.spec?.volumeName) return;
  }
  return true;
}

async function shopDown(client: KubeClient): Promise<true | undefined> {
  const pods = await client.request<{ items: Phased[] }>({
    method: "GET",
    path: `/api/v1/namespaces/${NS}/pods`,
  });
  return pods.items.length === 0 ? true : undefined;
}

Deno.test({
  name:
    "demo and start: the sample shop's StatefulSet runs on both sides, its claims bound by the provisioner",
  sanitizeResources: false,
  sanitizeOps: false,
}, async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "dr-syncer-demo-" });
  const env = { DR_SYNCER_TESTENV_DIR: dir, DR_SYNCER_TESTENV_CLUSTERS: "source dr" };
  try {
    await t.step(
      "deno task demo: the DR side runs the StatefulSet after cutover, the source after failback",
      async () => {
        const out = await new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", ENTRY, "demo"],
          env,
          stdout: "piped",
          stderr: "piped",
        }).output();
        const text = new TextDecoder().decode(out.stdout);
        assert.equal(out.code, 0, `${text}\n${new TextDecoder().decode(out.stderr).slice(-2000)}`);
        const [staged, cut, back] = text.split(/^== (?:cutover|failback):/m);
        assert.ok(staged && cut && back, text);
        assert.match(staged, /StatefulSet\/db\s+1 \(1 running\)\s+0 \(0 running\)/);
        assert.match(staged, /data-db-0\s+Bound\s+Pending/, "DR's claim waits for its first pod");
        assert.match(cut, /StatefulSet\/db\s+0 \(0 running\)\s+1 \(1 running\)/);
        assert.match(cut, /Deployment\/web\s+0 \(0 running\)\s+3 \(3 running\)/);
        assert.match(cut, /data-db-0\s+Bound\s+Bound/);
        assert.match(cut, /uploads\s+Bound\s+Bound/);
        assert.match(back, /StatefulSet\/db\s+1 \(1 running\)\s+0 \(0 running\)/);
        assert.doesNotMatch(text, /not every pod/);
      },
    );

    await t.step(
      "deno task start: the printed cutover makes DR run the StatefulSet; failback brings it back",
      async () => {
        const child = new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", ENTRY, "start", "--port", "0"],
          env,
          stdout: "piped",
          stderr: "null",
        }).spawn();
        const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
        const source = await connectCluster("source", { path: `${dir}/source.kubeconfig` });
        const dr = await connectCluster("dr", { path: `${dir}/dr.kubeconfig` });
        let out = "";
        try {
          const deadline = Date.now() + 120_000;
          while (!out.includes("fail back:") && Date.now() < deadline) {
            const { value, done } = await reader.read();
            if (done) break;
            out += value;
          }
          assert.match(out, /^ {2}source: data-db-0 Bound \(StorageClass standard\), uploads Bound/m, out);
          const base = /status page:\s+(http:\/\/\S+)\//.exec(out)?.[1];
          const tokenFile = /the token in (\S+)\)/.exec(out)?.[1];
          assert.ok(base && tokenFile, out);
          const token = (await Deno.readTextFile(tokenFile)).trim();
          const post = async (what: string) => {
            const response = await fetch(`${base}/v1/replications/${NS}/${what}`, {
              method: "POST",
              headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
              body: "{}",
            });
            return { status: response.status, report: await response.json() };
          };
          const cut = await post("cutover");
          assert.equal(cut.status, 200, JSON.stringify(cut.report).slice(0, 600));
          assert.equal(cut.report.status, "succeeded");
          await eventually("db-0 running on DR with its claims bound", () => shopRuns(dr));
          await eventually("no shop pod left on the source", () => shopDown(source));
          const back = await post("failback");
          assert.equal(back.status, 200, JSON.stringify(back.report).slice(0, 600));
          assert.equal(back.report.status, "succeeded");
          await eventually("db-0 running on the source again", () => shopRuns(source));
          await eventually("no shop pod left on DR", () => shopDown(dr));
        } finally {
          source.close();
          dr.close();
          await reader.cancel().catch(() => {});
          try {
            child.kill("SIGTERM");
          } catch {
            // already gone
          }
          await child.status;
        }
      },
    );
  } finally {
    await new Deno.Command("bash", { args: [TESTENV, "down"], env, stdout: "null", stderr: "null" }).output();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
