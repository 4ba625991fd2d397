import assert from "node:assert/strict";
import { Hono } from "hono";
import { authorize, type AuthVariables, presentedToken } from "../../functions/http/authorize.ts";
import { TokenVerifier } from "../../shared/credentials/mod.ts";

Deno.test("authorize: the token of a Bearer or Basic header", () => {
  assert.equal(presentedToken("Bearer abc"), "abc");
  assert.equal(presentedToken("bearer   abc "), "abc");
  assert.equal(presentedToken(`Basic ${btoa("user:s3cret:x")}`), "s3cret:x");
  assert.equal(presentedToken(undefined), undefined);
  assert.equal(presentedToken("Bearer"), undefined);
  assert.equal(presentedToken("Bearer a b"), undefined);
  assert.equal(presentedToken("Token abc"), undefined);
  assert.equal(presentedToken("Basic !!!"), undefined);
  assert.equal(presentedToken(`Basic ${btoa("no-colon")}`), undefined);
});

Deno.test("authorize: tokens are matched by value and scoped to operations", async () => {
  const env: Record<string, string> = { A: "alpha", B: "beta" };
  const tokens = new TokenVerifier([
    { name: "ops", value: { env: "A" }, operations: ["read", "stage", "cutover"] },
    { name: "ci", value: { env: "B" }, operations: ["stage"] },
    { name: "broken", value: { env: "MISSING" }, operations: ["read"] },
  ], { readEnv: (n) => env[n] });
  assert.equal((await tokens.verify("alpha"))?.name, "ops");
  assert.deepEqual([...(await tokens.verify("beta"))!.operations], ["stage"]);
  assert.equal(await tokens.verify("gamma"), undefined);
  assert.equal(await tokens.verify(""), undefined, "an unset token never matches the empty string");

  const app = new Hono<{ Variables: AuthVariables }>();
  app.get("/read", authorize(tokens, "read"), (c) => c.text(c.get("principal").name));
  app.post("/:op", authorize(tokens, (c) => c.req.param("op")), (c) => c.text("ran"));
  const call = (path: string, auth?: string, method = "GET") =>
    app.request(path, { method, headers: auth ? { authorization: auth } : {} });
  assert.equal((await call("/read")).status, 401);
  assert.equal((await call("/read", "Bearer nope")).status, 401);
  assert.equal(await (await call("/read", "Bearer alpha")).text(), "ops");
  const forbidden = await call("/read", "Bearer beta");
  assert.equal(forbidden.status, 403);
  assert.deepEqual(await forbidden.json(), {
    error: 'Token "ci" may not read (it may: stage)',
    code: "forbidden",
  });
  assert.equal((await call("/cutover", "Bearer beta", "POST")).status, 403);
  assert.equal((await call("/stage", "Bearer beta", "POST")).status, 200);
});

Deno.test("authorize: a rotated token is accepted without a restart, and the old one refused", async () => {
  const env: Record<string, string> = { A: "one" };
  const tokens = new TokenVerifier([{ name: "ops", value: { env: "A" }, operations: ["read"] }], {
    readEnv: (n) => env[n],
    retryMs: 0,
  });
  assert.ok(await tokens.verify("one"));
  env.A = "two";
  assert.ok(await tokens.verify("two"), "an unknown token reads the sources again");
  assert.equal(await tokens.verify("one"), undefined);
});
