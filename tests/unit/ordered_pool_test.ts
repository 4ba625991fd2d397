import assert from "node:assert/strict";
import { delay } from "../../shared/async/delay.ts";
import { orderedPool } from "../../shared/async/ordered_pool.ts";
import { kindRuleFor, writeWaitsFor } from "../../shared/plan/kind_rules.ts";
import { TYPES } from "./_fixtures.ts";

interface Item {
  readonly name: string;
  readonly order: number;
  readonly ms: number;
}

/** Runs `items` through the pool, each taking its `ms`; when each started and finished (ms from the start). */
async function run(
  items: readonly Item[],
  limit: number,
  waitsFor: (order: number, other: number) => boolean,
) {
  const t0 = performance.now();
  const at = new Map<string, { start: number; end: number }>();
  let running = 0, peak = 0;
  await orderedPool(items, { limit, orderOf: (i) => i.order, waitsFor }, async (item) => {
    running++;
    peak = Math.max(peak, running);
    const start = performance.now() - t0;
    await delay(item.ms);
    at.set(item.name, { start, end: performance.now() - t0 });
    running--;
  });
  return { at, peak };
}

Deno.test("orderedPool starts an item only after the orders it waits for, never exceeding its limit", async () => {
  // 30 and 50 wait for nothing; 60 waits for 30 only; 90 waits for everything below
  const waitsFor = (order: number, other: number) => order === 60 ? other === 30 : order === 90;
  const items: Item[] = [
    ...Array.from({ length: 4 }, (_, i) => ({ name: `cm-${i}`, order: 30, ms: 10 })),
    ...Array.from({ length: 3 }, (_, i) => ({ name: `svc-${i}`, order: 50, ms: 300 })),
    { name: "deploy", order: 60, ms: 5 },
    { name: "hpa", order: 90, ms: 5 },
  ];
  const { at, peak } = await run(items, 6, waitsFor);
  assert.equal(at.size, items.length, "every item ran");
  assert.ok(peak <= 6, `at most 6 in flight, saw ${peak}`);
  const { peak: narrow } = await run(items, 2, waitsFor);
  assert.equal(narrow, 2, "never more than the limit");
  const cmsDone = Math.max(...[0, 1, 2, 3].map((i) => at.get(`cm-${i}`)!.end));
  const svcsDone = Math.max(...[0, 1, 2].map((i) => at.get(`svc-${i}`)!.end));
  // the slow Services started beside the ConfigMaps (turns), not after them
  assert.ok(at.get("svc-0")!.start < at.get("cm-1")!.start, "orders that may start take turns");
  assert.ok(at.get("deploy")!.start >= cmsDone, "60 waited for 30");
  assert.ok(at.get("deploy")!.end < svcsDone, "60 did not wait for 50");
  assert.ok(
    at.get("hpa")!.start >= svcsDone && at.get("hpa")!.start >= at.get("deploy")!.end,
    "90 waited for all",
  );
});

Deno.test("orderedPool with every order waiting for those below runs strict groups", async () => {
  const items: Item[] = [
    { name: "b1", order: 2, ms: 1 },
    { name: "a1", order: 1, ms: 30 },
    { name: "a2", order: 1, ms: 5 },
    { name: "c1", order: 3, ms: 1 },
  ];
  const { at } = await run(items, 8, () => true);
  assert.ok(at.get("b1")!.start >= at.get("a1")!.end);
  assert.ok(at.get("c1")!.start >= at.get("b1")!.end);
  await orderedPool([], { limit: 2, orderOf: () => 0, waitsFor: () => true }, () => Promise.resolve());
  await assert.rejects(
    orderedPool([1], { limit: 0, orderOf: () => 0, waitsFor: () => true }, () => Promise.resolve()),
    RangeError,
  );
});

Deno.test("orderedPool starts nothing more after a call throws, lets those in flight finish, and throws", async () => {
  const started: string[] = [];
  const finished: string[] = [];
  await assert.rejects(
    orderedPool(
      [{ name: "x", order: 1 }, { name: "slow", order: 1 }, { name: "y", order: 1 }, { name: "z", order: 2 }],
      { limit: 2, orderOf: (i) => i.order, waitsFor: () => false },
      async (item) => {
        started.push(item.name);
        await delay(item.name === "x" ? 1 : 30);
        if (item.name === "x") throw new Error("x failed");
        finished.push(item.name);
      },
    ),
    /x failed/,
  );
  assert.deepEqual(
    started,
    ["x", "z"],
    "z (another order, ready) took the second slot; nothing started after",
  );
  assert.deepEqual(finished, ["z"], "the call in flight finished");
});

Deno.test("writes wait for what they depend on, and only for that (docs/sync-rules.md)", () => {
  const order = (type: Parameters<typeof kindRuleFor>[0]) => kindRuleFor(type).order;
  const waits = (a: Parameters<typeof kindRuleFor>[0], b: Parameters<typeof kindRuleFor>[0]) =>
    writeWaitsFor(order(a), order(b));
  const { configmaps, secrets, persistentvolumeclaims, services, deployments, statefulsets, ingresses } =
    TYPES;
  // the namespace (0) and CRDs (10) go before everything
  for (const type of [TYPES.serviceaccounts, configmaps, services, deployments, ingresses, TYPES.widgets]) {
    assert.ok(writeWaitsFor(order(type), 0) && writeWaitsFor(order(type), 10), type.kind);
  }
  // what a workload uses is written before it
  for (const used of [TYPES.serviceaccounts, TYPES.roles, TYPES.rolebindings, configmaps, secrets]) {
    assert.ok(waits(deployments, used) && waits(statefulsets, used), used.kind);
  }
  assert.ok(waits(deployments, persistentvolumeclaims));
  assert.ok(waits(TYPES.rolebindings, TYPES.roles));
  assert.ok(waits(ingresses, services) && waits(ingresses, secrets));
  assert.ok(waits(TYPES.widgets, deployments), "custom resources after the workloads");
  assert.ok(
    waits(TYPES.horizontalpodautoscalers, deployments) && waits(TYPES.horizontalpodautoscalers, ingresses),
  );
  // and nothing else: these go side by side
  assert.ok(!waits(secrets, TYPES.serviceaccounts) && !waits(persistentvolumeclaims, configmaps));
  assert.ok(!waits(services, persistentvolumeclaims) && !waits(services, configmaps));
  assert.ok(!waits(deployments, services), "a workload finds its Services by name, later");
  assert.ok(!waits(ingresses, deployments));
  // never a wait on its own order or a later one
  for (let o = 0; o <= 100; o++) {
    for (let p = o; p <= 100; p++) assert.ok(!writeWaitsFor(o, p), `${o} waits for ${p}`);
  }
});

Deno.test("orderedPool gives one order at most half the slots while another could start, all of them after", async () => {
  const inFlight = new Map<number, number>();
  const peakWhileBoth: number[] = [];
  let fastWaiting = 6;
  const items = [
    ...Array.from({ length: 6 }, () => ({ order: 50, ms: 40 })), // slow, first in turn order after 30
    ...Array.from({ length: 6 }, () => ({ order: 30, ms: 5 })),
  ];
  await orderedPool(items, { limit: 4, orderOf: (i) => i.order, waitsFor: () => false }, async (item) => {
    inFlight.set(item.order, (inFlight.get(item.order) ?? 0) + 1);
    if (item.order === 30) fastWaiting--;
    else if (fastWaiting > 0) peakWhileBoth.push(inFlight.get(50)!);
    await delay(item.ms);
    inFlight.set(item.order, inFlight.get(item.order)! - 1);
  });
  assert.ok(Math.max(...peakWhileBoth) <= 2, `the slow order held ${Math.max(...peakWhileBoth)} of 4 slots`);
  let peakAlone = 0;
  await orderedPool(
    Array.from({ length: 6 }, () => ({ order: 50 })),
    { limit: 4, orderOf: (i) => i.order, waitsFor: () => false },
    async () => {
      peakAlone = Math.max(peakAlone, (inFlight.get(-1) ?? 0) + 1);
      inFlight.set(-1, (inFlight.get(-1) ?? 0) + 1);
      await delay(5);
      inFlight.set(-1, inFlight.get(-1)! - 1);
    },
  );
  assert.equal(peakAlone, 4, "alone, an order takes every slot");
});
