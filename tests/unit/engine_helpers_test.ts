import assert from "node:assert/strict";
import { kubeApiErrorFromResponse } from "../../shared/kube/mod.ts";
import { withRetry } from "../../shared/kube/retry.ts";
import { delay } from "../../shared/async/delay.ts";
import { pooledMap } from "../../shared/async/pooled_map.ts";
import { buildRunReport } from "../../shared/run_report.ts";

const conflict = () => kubeApiErrorFromResponse(409, { reason: "Conflict", message: "modified" });

Deno.test("withRetry backs off exponentially with full jitter, capped, until it succeeds", async () => {
  const pauses: number[] = [];
  let calls = 0;
  const result = await withRetry(() => {
    calls++;
    if (calls < 5) throw conflict();
    return Promise.resolve("done");
  }, {
    sleep: (ms) => (pauses.push(ms), Promise.resolve()),
    random: () => 1,
    baseDelayMs: 100,
    maxDelayMs: 500,
  });
  assert.equal(result, "done");
  assert.deepEqual(pauses, [100, 200, 400, 500], "ceiling doubles per try, capped at maxDelayMs");
  const jittered: number[] = [];
  await withRetry(() => calls++ < 7 ? Promise.reject(conflict()) : Promise.resolve(), {
    sleep: (ms) => (jittered.push(ms), Promise.resolve()),
    random: () => 0.5,
  });
  assert.deepEqual(jittered, [50, 100], "full jitter: a random share of the ceiling");
});

Deno.test("withRetry gives up after its attempts and passes other errors through at once", async () => {
  let calls = 0;
  await assert.rejects(
    withRetry(() => (calls++, Promise.reject(conflict())), { attempts: 3, sleep: () => Promise.resolve() }),
    (e: unknown) => (e as { status?: number }).status === 409,
  );
  assert.equal(calls, 3);
  calls = 0;
  const forbidden = kubeApiErrorFromResponse(403, { reason: "Forbidden", message: "no" });
  await assert.rejects(
    withRetry(() => (calls++, Promise.reject(forbidden)), { sleep: () => Promise.resolve() }),
  );
  assert.equal(calls, 1, "a 403 is not retried");
});

Deno.test("withRetry waits at least what Retry-After asks", async () => {
  const pauses: number[] = [];
  let calls = 0;
  await withRetry(() => {
    if (calls++ === 0) throw kubeApiErrorFromResponse(429, "slow down", { retryAfter: "2" });
    return Promise.resolve();
  }, { sleep: (ms) => (pauses.push(ms), Promise.resolve()), random: () => 0 });
  assert.deepEqual(pauses, [2000]);
});

Deno.test("withRetry: a throttling server (429) does not use up the attempts, until the throttle budget", async () => {
  const throttled = () => kubeApiErrorFromResponse(429, "slow down", { retryAfter: "1" });
  let calls = 0;
  const result = await withRetry(() => calls++ < 20 ? Promise.reject(throttled()) : Promise.resolve("in"), {
    attempts: 3,
    sleep: () => Promise.resolve(),
  });
  assert.equal(result, "in", "20 throttled tries, then success, with 3 attempts");
  calls = 0;
  await assert.rejects(
    withRetry(() => (calls++, Promise.reject(throttled())), {
      attempts: 3,
      throttleBudgetMs: 10_000,
      random: () => 0,
      sleep: () => Promise.resolve(),
    }),
    (e: unknown) => (e as { status?: number }).status === 429,
  );
  assert.equal(calls, 13, "10 s of 1 s pauses, then the 3 attempts");
});

Deno.test("pooledMap keeps the order and never exceeds its limit", async () => {
  let running = 0, peak = 0;
  const out = await pooledMap([5, 1, 4, 2, 3, 0, 6], 3, async (n, i) => {
    running++;
    peak = Math.max(peak, running);
    await new Promise((r) => setTimeout(r, n));
    running--;
    return `${i}:${n}`;
  });
  assert.deepEqual(out, ["0:5", "1:1", "2:4", "3:2", "4:3", "5:0", "6:6"]);
  assert.equal(peak, 3);
  assert.deepEqual(await pooledMap([], 4, () => Promise.resolve(1)), []);
});

Deno.test("a run report fails when any object or step failed, and counts every action", () => {
  const base = {
    runId: "run-1",
    operation: "stage" as const,
    replication: "shop",
    dryRun: false,
    startedAt: new Date(0),
    finishedAt: new Date(1500),
    steps: [],
  };
  const ok = buildRunReport({
    ...base,
    objects: [{ kind: "ConfigMap", group: "", name: "a", namespace: "n", action: "created" }],
  });
  assert.equal(ok.status, "succeeded");
  assert.equal(ok.durationMs, 1500);
  assert.equal(ok.counts.created, 1);
  assert.equal(ok.counts.pruned, 0);
  const partial = buildRunReport({
    ...base,
    objects: [
      { kind: "ConfigMap", group: "", name: "a", namespace: "n", action: "created" },
      { kind: "Secret", group: "", name: "b", namespace: "n", action: "failed", reason: "forbidden" },
    ],
  });
  assert.equal(partial.status, "failed", "a partial failure is a failure");
  const step = buildRunReport({ ...base, objects: [], steps: [{ step: "scale-dr-up", status: "failed" }] });
  assert.equal(step.status, "failed");
});

Deno.test("pooledMap starts no new item after one throws, and throws that error", async () => {
  const started: number[] = [];
  await assert.rejects(
    pooledMap([0, 1, 2, 3, 4, 5, 6, 7], 2, async (n) => {
      started.push(n);
      await delay(n === 1 ? 1 : 20);
      if (n === 1) throw new Error("item 1 failed");
      return n;
    }),
    /item 1 failed/,
  );
  assert.deepEqual(started, [0, 1], "the pool stopped pulling items");
  await assert.rejects(pooledMap([1], 0, () => Promise.resolve(1)), RangeError);
});

Deno.test("delay is aborted at once by its signal", async () => {
  const controller = new AbortController();
  const t0 = performance.now();
  const waiting = delay(10_000, { signal: controller.signal });
  controller.abort(new Error("lock lost"));
  await assert.rejects(waiting, /lock lost/);
  assert.ok(performance.now() - t0 < 1000);
  await assert.rejects(
    delay(1, { signal: controller.signal }),
    /lock lost/,
    "an aborted signal rejects at once",
  );
});

Deno.test("withRetry validates its options and stops its pauses when aborted", async () => {
  await assert.rejects(withRetry(() => Promise.resolve(1), { attempts: 0 }), RangeError);
  await assert.rejects(withRetry(() => Promise.resolve(1), { attempts: 1.5 }), RangeError);
  const controller = new AbortController();
  let calls = 0;
  const t0 = performance.now();
  const running = withRetry(() => (calls++, Promise.reject(conflict())), {
    baseDelayMs: 60_000,
    maxDelayMs: 60_000,
    random: () => 1,
    signal: controller.signal,
  });
  setTimeout(() => controller.abort(new Error("shutting down")), 20);
  await assert.rejects(running, /shutting down/);
  assert.equal(calls, 1);
  assert.ok(performance.now() - t0 < 5000, "the 60 s pause ended with the abort");
});
