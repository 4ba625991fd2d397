/** The client's watch: aborting its signal ends a read that is already waiting for the next event. */
import assert from "node:assert/strict";
import { watchObjects } from "../../shared/kube/mod.ts";
import { createNamespace, deleteNamespace, testClusters, uniqueName } from "../_clusters.ts";

const CONFIG_MAPS = { group: "", version: "v1", resource: "configmaps", kind: "ConfigMap", namespaced: true };

Deno.test("watch: aborting the signal ends a pending read of the stream at once", async () => {
  await using c = await testClusters();
  const ns = uniqueName("watchabort");
  await createNamespace(c.source, ns);
  try {
    const controller = new AbortController();
    const events = await watchObjects(c.source, CONFIG_MAPS, ns, { signal: controller.signal });
    const reading = (async () => {
      const seen: string[] = [];
      try {
        for await (const event of events) seen.push(event.type);
      } catch (error) {
        return { seen, error };
      }
      return { seen, error: undefined };
    })();
    await new Promise((r) => setTimeout(r, 500)); // the watch is open and idle: a read is pending
    const t0 = performance.now();
    controller.abort(new Error("stop watching"));
    const outcome = await reading;
    assert.ok(performance.now() - t0 < 2_000, "the pending read ended with the abort");
    assert.match(String(outcome.error), /stop watching/);
  } finally {
    await deleteNamespace(c.source, ns);
  }
});
