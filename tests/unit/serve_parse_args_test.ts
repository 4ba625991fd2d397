import assert from "node:assert/strict";
import { parseServeArgs, SERVE_HELP } from "../../functions/serve/parse_serve_args.ts";
import { OPERATION_NAMES } from "../../functions/operations/mod.ts";
import { runServe } from "../../functions/serve/main.ts";

Deno.test("serve args: defaults and flags", () => {
  assert.deepEqual(parseServeArgs([]), {
    config: undefined,
    host: "127.0.0.1",
    port: 8080,
    drainSeconds: 20,
    logLevel: "info",
    help: false,
  });
  const o = parseServeArgs([
    "--config",
    "c.yaml",
    "--host",
    "0.0.0.0",
    "--port",
    "0",
    "--drain-seconds",
    "5",
  ]);
  assert.equal(o.config, "c.yaml");
  assert.equal(o.port, 0);
  assert.equal(o.drainSeconds, 5);
  assert.throws(
    () => parseServeArgs(["--port", "99999"]),
    /--port: "99999" is not a whole number from 0 to 65535/,
  );
  assert.throws(() => parseServeArgs(["--nope"]), /Unknown option '--nope'/);
  assert.throws(() => parseServeArgs(["--log-level", "loud"]), /--log-level/);
});

Deno.test("serve: bad flags and a missing config exit 2 with a message", async () => {
  let err = "";
  const io = {
    stdout: () => {},
    stderr: (t: string) => err += t,
    env: () => undefined,
    stopRequested: new Promise<string>(() => {}),
  };
  assert.equal(await runServe(["--port", "x"], io), 2);
  assert.match(err, /--port/);
  err = "";
  assert.equal(await runServe([], io), 2);
  assert.match(err, /No config: pass --config FILE or set DR_SYNCER_CONFIG/);
  err = "";
  assert.equal(await runServe(["--config", "/nonexistent/dr.yaml"], io), 2);
  assert.match(err, /Cannot read config "\/nonexistent\/dr.yaml": no such file/i);
});

Deno.test("serve --help names a route for every operation", () => {
  for (const name of OPERATION_NAMES) assert.match(SERVE_HELP, new RegExp(`[{|]${name}[|}]`), name);
  assert.match(SERVE_HELP, /\{stage\|cutover\|failback\|pvc-sync\|fence\}/);
});
