/**
 * Property: malformed requests (bodies, headers, paths, methods) get a 4xx answer, never a 5xx,
 * and never change either cluster. Thrown at the app in-process and through a real Deno.serve.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { fixtures, read, seed, testClusters, withNamespaces } from "../_clusters.ts";
import { replication, testConfig, testRuntime, TOKENS } from "./http_harness.ts";

const OPERATIONS = ["stage", "cutover", "failback", "pvc-sync"] as const;
const BODY_KEYS = ["dryRun", "force", "wait", "waitForLock", "prune", "allowSourceUnavailable"] as const;

interface Attempt {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: string | Uint8Array<ArrayBuffer> | undefined;
}

const anyJson = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v));
const text = fc.string({ unit: "binary", maxLength: 200 });
const segment = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: "binary", maxLength: 20 }).map(encodeURIComponent),
  fc.constantFrom("%", "%zz", "%E0%A4%A", "..", ".", "%2F", "%00", "shop%2Fstage", "Shop", "shop ", "😀"),
);
const token = fc.constantFrom(TOKENS.ops, TOKENS.stage, TOKENS.read);
const auth = (t: string) => ({ authorization: `Bearer ${t}` });

/** A body that the trigger schema refuses, whatever the operation: not an object, an unknown key, a wrong type. */
const badBody = fc.oneof(
  fc.oneof(
    fc.jsonValue({ maxDepth: 2 }).filter((v) => typeof v !== "object" || v === null || Array.isArray(v)),
  )
    .map((v) => JSON.stringify(v)),
  fc.tuple(
    fc.dictionary(fc.string({ minLength: 1, maxLength: 10 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
    fc.string({ minLength: 1, maxLength: 10 }),
  )
    .filter(([, key]) => !(BODY_KEYS as readonly string[]).includes(key))
    .map(([o, key]) => JSON.stringify({ ...o, [key]: 1 })),
  fc.tuple(
    fc.constantFrom(...BODY_KEYS),
    fc.oneof(fc.string(), fc.constant(null), fc.array(fc.nat()), fc.constant(-5), fc.constant(1e9)),
  )
    .map(([key, value]) => JSON.stringify({ [key]: value })),
  text.filter((t) => {
    try {
      JSON.parse(t);
      return t.trim() === ""; // "" is {}: valid, and "  " too
    } catch {
      return true;
    }
  }).filter((t) => t.trim() !== ""),
);

function attempts(replicationName: string): fc.Arbitrary<Attempt> {
  const trigger = (op: string) => `/v1/replications/${replicationName}/${op}`;
  return fc.oneof(
    // a trigger with a good token and a bad body
    fc.tuple(
      fc.constantFrom(...OPERATIONS),
      badBody,
      fc.option(fc.constantFrom("application/json", "text/plain", "x/y")),
    )
      .map(([op, body, type]) => ({
        method: "POST",
        path: trigger(op),
        headers: { ...auth(TOKENS.ops), ...(type ? { "content-type": type } : {}) },
        body,
      })),
    // no token, a wrong one, a malformed header, or a token without the scope
    fc.tuple(
      fc.constantFrom(...OPERATIONS),
      fc.oneof(
        fc.constant<Record<string, string>>({}),
        text.filter((t) => t !== TOKENS.ops).map((t) => ({
          authorization: `Bearer ${t.replace(/[\r\n\0]/g, "")}`,
        })),
        fc.constantFrom(
          "Bearer",
          "Basic !!!",
          `Bearer ${TOKENS.ops} extra`,
          `Token ${TOKENS.ops}`,
          `Basic ${btoa("no-colon")}`,
        )
          .map((a) => ({ authorization: a })),
        fc.constant(auth(TOKENS.read)),
      ),
      anyJson,
    )
      .map(([op, headers, body]) => ({ method: "POST", path: trigger(op), headers, body })),
    // a good request but a malformed Idempotency-Key
    fc.tuple(
      fc.constantFrom(...OPERATIONS),
      fc.oneof(
        fc.constant(""),
        fc.string({ minLength: 256, maxLength: 300 }),
        fc.string().filter((s) => /[^\x21-\x7e]/.test(s)),
      ),
    )
      .map(([op, key]) => ({
        method: "POST",
        path: trigger(op),
        headers: {
          ...auth(TOKENS.ops),
          "idempotency-key": key.replace(/[\r\n\0]/g, " ").replace(/^[ \t]+|[ \t]+$/g, ""),
        },
        body: JSON.stringify({ dryRun: true }),
      }))
      .filter((a) =>
        a.headers["idempotency-key"] === "" || /[^\x21-\x7e]/.test(a.headers["idempotency-key"]!) ||
        a.headers["idempotency-key"]!.length > 255
      ),
    // an unknown replication or operation, or a path no route has
    fc.tuple(token, segment, fc.oneof(fc.constantFrom(...OPERATIONS), segment), fc.oneof(anyJson, text))
      .filter(([, name, op]) => !(name === replicationName && (OPERATIONS as readonly string[]).includes(op)))
      .map(([t, name, op, body]) => ({
        method: "POST",
        path: `/v1/replications/${name}/${op}`,
        headers: auth(t),
        body,
      })),
    fc.tuple(
      token,
      fc.array(segment, { minLength: 1, maxLength: 5 }),
      fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH"),
    )
      .map(([t, segments, method]) => ({ method, path: `/v1/${segments.join("/")}`, headers: auth(t) }))
      .filter((a) => !/^\/v1\/replications(\/[^/]*)?$/.test(a.path) || a.method !== "GET"),
    // run ids that are not, or not known
    fc.tuple(token, fc.oneof(segment, fc.uuid())).map(([t, id]) => ({
      method: "GET",
      path: `/v1/runs/${id}`,
      headers: auth(t),
    })),
    // the other methods on the trigger routes
    fc.tuple(fc.constantFrom(...OPERATIONS), fc.constantFrom("GET", "PUT", "DELETE", "PATCH"))
      .map(([op, method]) => ({ method, path: trigger(op), headers: auth(TOKENS.ops) })),
    // bodies too large
    fc.constantFrom(...OPERATIONS).map((op) => ({
      method: "POST",
      path: trigger(op),
      headers: auth(TOKENS.ops),
      body: new Uint8Array(70_000).fill(32),
    })),
  );
}

function toRequest(base: string, a: Attempt): Request | undefined {
  // "." and ".." segments are resolved by the URL itself: "/v1/.." is the page "/", which answers 200
  if (/(^|\/)\.{1,2}(\/|$)/.test(a.path)) return undefined;
  try {
    return new Request(new URL(a.path, base), {
      method: a.method,
      headers: a.headers,
      ...(a.body !== undefined && a.method !== "GET" ? { body: a.body } : {}),
    });
  } catch {
    return undefined; // not an HTTP request at all (a header the Fetch API refuses): nothing to send
  }
}

Deno.test("http property: malformed requests get 4xx, never 5xx, and change neither cluster", async () => {
  await using c = await testClusters();
  await withNamespaces(c, "httpprop", async (ns) => {
    await seed(c.source, [fixtures.configMap(ns.source, "a"), fixtures.deployment(ns.source, "web", 2)]);
    await using t = await testRuntime(testConfig([replication("shop", ns.source, ns.dest)]));
    const seen = new Map<number, number>();
    const check = async (response: Response, a: Attempt) => {
      await response.body?.cancel();
      seen.set(response.status, (seen.get(response.status) ?? 0) + 1);
      assert.ok(
        response.status >= 400 && response.status < 500,
        `${a.method} ${a.path} ${JSON.stringify(a.headers)} ${
          String(a.body).slice(0, 100)
        } -> ${response.status}`,
      );
    };
    await fc.assert(
      fc.asyncProperty(attempts("shop"), async (a) => {
        const request = toRequest("http://localhost", a);
        fc.pre(request !== undefined);
        await check(await t.app.fetch(request!), a);
      }),
      { numRuns: 1000 },
    );
    // the same through a real server
    await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, t.app.fetch);
    const base = `http://127.0.0.1:${server.addr.port}`;
    await fc.assert(
      fc.asyncProperty(attempts("shop"), async (a) => {
        const request = toRequest(base, a);
        fc.pre(request !== undefined);
        let response: Response;
        try {
          response = await fetch(request!);
        } catch (error) {
          // the client refuses to send it (a header byte HTTP forbids): nothing reached the server
          fc.pre(!(error instanceof TypeError && /header/.test(error.message)));
          throw error;
        }
        await check(response, a);
      }),
      { numRuns: 300 },
    );
    const source = await t.runtime.clusters.get("source");
    const dr = await t.runtime.clusters.get("dr");
    assert.equal(source.stats.writes + dr.stats.writes, 0, "no write request was sent to either cluster");
    assert.equal(await read(c.dr, "v1", "Namespace", undefined, ns.dest), undefined);
    for (const status of [400, 401, 403, 404]) {
      assert.ok(seen.has(status), `some requests got ${status}: ${[...seen]}`);
    }
  }, { destSuffix: "-dr" });
});
