/** One operation deployed alone: `deno serve functions/serverless/stage_function.ts`, config from DR_SYNCER_CONFIG. */
import assert from "node:assert/strict";
import {
  DR_KUBECONFIG,
  fixtures,
  names,
  seed,
  SOURCE_KUBECONFIG,
  testClusters,
  withNamespaces,
} from "../_clusters.ts";
import { replication, testConfigInput, TOKEN_ENV, TOKENS } from "./http_harness.ts";
import { writeConfig } from "./serve_harness.ts";

const STAGE_FUNCTION = new URL("../../functions/serverless/stage_function.ts", import.meta.url).pathname;

Deno.test("http function: the stage function runs alone under deno serve and mounts only its own trigger", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "httpfn", async (ns) => {
    await seed(c.source, [fixtures.configMap(ns.source, "a")]);
    const config = await writeConfig(testConfigInput([replication("shop", ns.source, ns.dest)]));
    const child = new Deno.Command(Deno.execPath(), {
      args: ["serve", "-A", "--host", "127.0.0.1", "--port", "0", STAGE_FUNCTION],
      env: { ...TOKEN_ENV, DR_SYNCER_CONFIG: config, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    try {
      // deno serve says where it listens on stderr
      const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
      let out = "";
      let url: string | undefined;
      while (url === undefined) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`deno serve ended: ${out}`);
        out += value;
        url = /Listening on (http:\/\/[\d.:]+)/.exec(out)?.[1];
      }
      const post = (op: string, token: string) =>
        fetch(`${url}/v1/replications/shop/${op}`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}` },
        });
      const staged = await post("stage", TOKENS.stage);
      const report = await staged.json();
      assert.equal(staged.status, 200, JSON.stringify(report));
      assert.equal(report.counts.created, 1);
      assert.ok((await names(c.dr, "v1", "ConfigMap", ns.dest)).includes("a"));
      const run = await fetch(`${url}/v1/runs/${report.runId}`, {
        headers: { authorization: `Bearer ${TOKENS.stage}` },
      });
      assert.equal((await run.json()).status, "succeeded");
      const cutover = await post("cutover", TOKENS.ops);
      assert.equal(cutover.status, 404, "the stage function has no cutover route");
      await cutover.body?.cancel();
      assert.equal((await fetch(`${url}/healthz`)).status, 200);
      await reader.cancel();
    } finally {
      child.kill("SIGTERM");
      await child.status;
      await child.stdout.cancel().catch(() => {});
    }
  }, { destSuffix: "-dr" });
});

Deno.test("http function: a function that cannot start says so in its log, not to the caller", async () => {
  const missing = `/nonexistent/secret-${crypto.randomUUID()}/config.yaml`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["serve", "-A", "--host", "127.0.0.1", "--port", "0", STAGE_FUNCTION],
    env: { ...TOKEN_ENV, DR_SYNCER_CONFIG: missing, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let err = "";
  try {
    let url: string | undefined;
    while (url === undefined) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`deno serve ended: ${err}`);
      err += value;
      url = /Listening on (http:\/\/[\d.:]+)/.exec(err)?.[1];
    }
    const r = await fetch(`${url}/v1/replications/shop/stage`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKENS.stage}` },
    });
    assert.equal(r.status, 503);
    const body = await r.text();
    assert.doesNotMatch(body, /nonexistent|secret-|config\.yaml/, body);
    while (!err.includes(missing)) {
      const { value, done } = await reader.read();
      if (done) break;
      err += value;
    }
    assert.ok(err.includes(missing), "the reason is in the function's log");
  } finally {
    await reader.cancel().catch(() => {});
    child.kill("SIGTERM");
    await child.status;
    await child.stdout.cancel().catch(() => {});
  }
});

Deno.test("serverless: the stage module under deno serve with only environment configuration: a trigger over HTTP, then its own cron tick runs a stage", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "fnserverless", async (ns) => {
    await seed(c.source, [fixtures.configMap(ns.source, "by-http")]);
    // everything from the environment: the config's text, the kubeconfigs' text, the tokens
    const input = testConfigInput([
      replication("shop", ns.source, ns.dest, { mode: "scheduled", schedule: "* * * * *" }),
    ]);
    const config = {
      ...input,
      clusters: [
        { name: "source", kubeconfig: { env: "SOURCE_KUBECONFIG_TEXT" } },
        { name: "dr", kubeconfig: { env: "DR_KUBECONFIG_TEXT" } },
      ],
    };
    const child = new Deno.Command(Deno.execPath(), {
      args: ["serve", "-A", "--host", "127.0.0.1", "--port", "0", STAGE_FUNCTION],
      env: {
        ...TOKEN_ENV,
        DR_SYNCER_CONFIG_YAML: JSON.stringify(config),
        SOURCE_KUBECONFIG_TEXT: await Deno.readTextFile(SOURCE_KUBECONFIG),
        DR_KUBECONFIG_TEXT: await Deno.readTextFile(DR_KUBECONFIG),
        NO_COLOR: "1",
      },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let err = "";
    const pump = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        err += value;
      }
    })();
    try {
      let url: string | undefined;
      for (let i = 0; i < 300 && url === undefined; i++) {
        url = /Listening on (http:\/\/[\d.:]+)/.exec(err)?.[1];
        if (url === undefined) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(url, err);
      const staged = await fetch(`${url}/v1/replications/shop/stage`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKENS.stage}` },
      });
      assert.equal(staged.status, 200, `${await staged.clone().text()}\n${err}`);
      assert.equal((await staged.json()).counts.created, 1);
      // the module's own Deno.cron tick (every minute) runs the schedule's stage: a change arrives by it
      await seed(c.source, [fixtures.configMap(ns.source, "by-cron")]);
      const deadline = Date.now() + 75_000;
      while (!(await names(c.dr, "v1", "ConfigMap", ns.dest)).includes("by-cron")) {
        assert.ok(Date.now() < deadline, `no scheduled stage within 75 s:\n${err}`);
        await new Promise((r) => setTimeout(r, 1_000));
      }
      // the copy lands before the run's record is finished (written after the lock is released): wait for it
      const { RunRecordStore } = await import("../../shared/runs/mod.ts");
      for (;;) {
        const runs = await new RunRecordStore(c.dr).list(ns.dest, "shop");
        if (runs.some((r) => r.trigger === "schedule" && r.status === "succeeded")) break;
        assert.ok(Date.now() < deadline, `no succeeded scheduled run recorded: ${JSON.stringify(runs)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      child.kill("SIGTERM");
      await child.status;
      await pump.catch(() => {});
      await child.stdout.cancel().catch(() => {});
    }
  }, { destSuffix: "-dr" });
});
