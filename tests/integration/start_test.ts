/**
 * The README's first command: `deno task start` on the local clusters serves the runtime with the
 * sample apps, and the curl it prints really cuts over.
 */
import assert from "node:assert/strict";
import { TESTENV_DIR } from "../_clusters.ts";

const ENTRY = new URL("../../functions/cli/main.ts", import.meta.url).pathname;

Deno.test("start: serves the sample replications and the printed cutover works over HTTP", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ENTRY, "start", "--port", "0"],
    env: { DR_SYNCER_TESTENV_DIR: TESTENV_DIR },
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  try {
    const deadline = Date.now() + 120_000;
    while (!out.includes("fail back:") && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      out += value;
    }
    const base = /status page:\s+(http:\/\/\S+)\//.exec(out)?.[1];
    const tokenFile = /the token in (\S+)\)/.exec(out)?.[1];
    assert.ok(base && tokenFile, `start printed the page and the token file:\n${out}`);
    assert.match(out, /demo-shop\s+scheduled/);
    assert.match(out, /demo-blog\s+continuous/);
    assert.ok(
      out.includes(`-d '{}' ${base}/v1/replications/demo-shop/cutover`),
      "the exact curl that cuts over",
    );
    const token = (await Deno.readTextFile(tokenFile)).trim();
    assert.equal((await Deno.stat(tokenFile)).mode! & 0o077, 0, "the token file is owner-only");
    const post = async (what: string) => {
      const response = await fetch(`${base}/v1/replications/demo-shop/${what}`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: "{}",
      });
      return { status: response.status, report: await response.json() };
    };
    const cut = await post("cutover");
    assert.equal(cut.status, 200, JSON.stringify(cut.report).slice(0, 400));
    assert.equal(cut.report.status, "succeeded");
    const back = await post("failback");
    assert.equal(back.status, 200);
    assert.equal(back.report.status, "succeeded");
    const page = await fetch(`${base}/`, { headers: { authorization: `Bearer ${token}` } });
    assert.match(await page.text(), /demo-shop/);
  } finally {
    await reader.cancel().catch(() => {});
    try {
      child.kill("SIGTERM");
    } catch {
      // already gone
    }
  }
  const status = await child.status;
  assert.equal(status.code, 0, "SIGTERM drains and exits 0");
});
