/** One operation deployed alone: `deno serve functions/http/stage_function.ts`, config from DR_SYNCER_CONFIG. */
import assert from "node:assert/strict";
import { fixtures, names, seed, testClusters, withNamespaces } from "../_clusters.ts";
import { replication, testConfigInput, TOKEN_ENV, TOKENS } from "./http_harness.ts";
import { writeConfig } from "./serve_harness.ts";

const STAGE_FUNCTION = new URL("../../functions/http/stage_function.ts", import.meta.url).pathname;

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
