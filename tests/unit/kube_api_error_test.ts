import assert from "node:assert/strict";
import {
  ClusterUnreachableError,
  createKubeClient,
  describeKubeError,
  isAlreadyExists,
  isConflict,
  isImmutableFieldError,
  isRetryable,
  isUnreachable,
  KubeApiError,
  kubeApiErrorFromResponse,
  loadKubeConfig,
  normaliseKubeError,
} from "../../shared/kube/mod.ts";

const where = { cluster: "dr", server: "https://127.0.0.1:1" };

Deno.test("a Status body becomes a KubeApiError with reason, kind, name and causes", () => {
  const e = kubeApiErrorFromResponse(422, {
    kind: "Status",
    status: "Failure",
    reason: "Invalid",
    message: 'Deployment.apps "web" is invalid: spec.selector: Invalid value: field is immutable',
    details: {
      name: "web",
      group: "apps",
      kind: "Deployment",
      causes: [{ reason: "FieldValueInvalid", message: "field is immutable", field: "spec.selector" }],
    },
    code: 422,
  }, { cluster: "dr" });
  assert.equal(e.status, 422);
  assert.equal(e.reason, "Invalid");
  assert.equal(e.kind, "Deployment");
  assert.equal(e.objectName, "web");
  assert.equal(e.group, "apps");
  assert.equal(e.cluster, "dr");
  assert.ok(isImmutableFieldError(e));
  assert.equal(describeKubeError(e), "spec.selector: field is immutable");
});

Deno.test("a non-JSON error body keeps its text and gets the reason of its status", () => {
  const e = kubeApiErrorFromResponse(503, "upstream connect error", { retryAfter: "3" });
  assert.equal(e.reason, "ServiceUnavailable");
  assert.equal(e.message, "upstream connect error");
  assert.equal(e.retryAfterSeconds, 3);
  assert.ok(isRetryable(e));
});

Deno.test("AlreadyExists is not a retryable conflict", () => {
  const e = kubeApiErrorFromResponse(409, { reason: "AlreadyExists", message: "exists" });
  assert.ok(isAlreadyExists(e));
  assert.ok(!isConflict(e));
  assert.ok(!isRetryable(e));
  assert.ok(isRetryable(kubeApiErrorFromResponse(409, { reason: "Conflict", message: "modified" })));
  assert.ok(isRetryable(kubeApiErrorFromResponse(429, "slow down")));
  assert.ok(!isRetryable(kubeApiErrorFromResponse(403, { reason: "Forbidden", message: "no" })));
});

Deno.test("client-node's ApiException is normalised to a KubeApiError", () => {
  class ApiException extends Error {
    constructor(readonly code: number, readonly body: unknown, readonly headers: Record<string, string>) {
      super(`HTTP-Code: ${code}`);
    }
  }
  const e = normaliseKubeError(
    new ApiException(
      404,
      JSON.stringify({
        reason: "NotFound",
        message: 'configmaps "x" not found',
        details: { name: "x", kind: "configmaps" },
      }),
      {},
    ),
    where,
  );
  assert.ok(e instanceof KubeApiError);
  assert.equal(e.status, 404);
  assert.equal(e.objectName, "x");
});

Deno.test("a refused connection to a real closed port is a ClusterUnreachableError", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const access = await loadKubeConfig({
    inline: `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:${port}"}}]
users: [{name: u, user: {token: abc}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`,
  });
  const client = createKubeClient(access, { name: "gone" });
  try {
    const error = await client.request({ method: "GET", path: "/version" }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(isUnreachable(error), String(error));
    assert.ok(error instanceof ClusterUnreachableError);
    assert.match(error.message, /^Cannot reach cluster "gone" at https:\/\/127\.0\.0\.1:\d+: /);
    assert.equal(client.stats.total, 1);
  } finally {
    client.close();
  }
});
