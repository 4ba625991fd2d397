import assert from "node:assert/strict";
import { createJsonLogger, createTextLogger } from "../../shared/log/mod.ts";

const now = () => new Date("2026-11-27T10:11:12.000Z");

Deno.test("the JSON logger writes one object per line with time, level, message and fields", () => {
  const lines: string[] = [];
  const log = createJsonLogger({ write: (l) => lines.push(l), now }).child({ replication: "shop" });
  log.info("stage done", { created: 3 });
  assert.deepEqual(lines.map((l) => JSON.parse(l)), [
    { time: "2026-11-27T10:11:12.000Z", level: "info", msg: "stage done", replication: "shop", created: 3 },
  ]);
});

Deno.test("entries below the level are dropped", () => {
  const lines: string[] = [];
  const log = createTextLogger({ write: (l) => lines.push(l), level: "warn", now });
  log.debug("no");
  log.info("no");
  log.warn("careful", { object: "ConfigMap/a b" });
  assert.deepEqual(lines, ['10:11:12 WARN  careful object="ConfigMap/a b"']);
});

Deno.test("fields that hold secrets never reach the output", () => {
  const lines: string[] = [];
  const log = createJsonLogger({ write: (l) => lines.push(l), now });
  log.error("login failed", { token: "abc", kubeconfig: "apiVersion: v1", bearerToken: "x", cluster: "dr" });
  const entry = JSON.parse(lines[0] ?? "{}");
  assert.equal(entry.token, "[redacted]");
  assert.equal(entry.kubeconfig, "[redacted]");
  assert.equal(entry.bearerToken, "[redacted]");
  assert.equal(entry.cluster, "dr");
  assert.ok(!lines[0]?.includes("abc"));
});
