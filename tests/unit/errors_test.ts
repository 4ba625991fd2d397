import assert from "node:assert/strict";
import { UsageError } from "../../functions/cli/parse_cli_args.ts";
import { OperationRefusedError } from "../../functions/operation_deps.ts";
import { ConfigError, ReplicationNotFoundError } from "../../shared/config/mod.ts";
import { errorOutcome } from "../../shared/errors.ts";
import { ClusterUnreachableError, kubeApiErrorFromResponse, KubeconfigError } from "../../shared/kube/mod.ts";
import {
  UnknownResourceTypeError,
  UnsupportedResourceTypeError,
} from "../../shared/plan/resolve_resource_types.ts";
import { LockHeldError, LockLostError, StateUnreadableError } from "../../shared/state/mod.ts";
import { SameNamespaceError, SourceNamespaceNotFoundError } from "../../shared/sync/check_sync.ts";

Deno.test("errorOutcome maps every domain error to one exit code and HTTP status", () => {
  const cases: [Error, number, number][] = [
    [new UsageError("bad flag"), 2, 400],
    [new KubeconfigError("file", "bad"), 2, 400],
    [new ConfigError("f.yaml", [{ path: "x", message: "bad" }]), 2, 400],
    [new UnknownResourceTypeError(["nope"], []), 2, 400],
    [new UnsupportedResourceTypeError([{ name: "nodes", reason: "is cluster-scoped" }]), 2, 400],
    [new SameNamespaceError("same"), 2, 400],
    [new ReplicationNotFoundError("shop", []), 2, 404],
    [new OperationRefusedError("cut over"), 1, 409],
    [new LockHeldError("shop", "run-1", "now"), 1, 409],
    [new StateUnreadableError("unreadable"), 1, 409],
    [new SourceNamespaceNotFoundError("source", "shop"), 1, 409],
    [kubeApiErrorFromResponse(403, { reason: "Forbidden", message: "no" }), 1, 502],
    [new LockLostError("shop", "taken over"), 1, 502],
    [new ClusterUnreachableError("dr", "https://127.0.0.1:1", "connection refused"), 1, 503],
    [new TypeError("a bug"), 1, 500],
  ];
  for (const [error, exitCode, httpStatus] of cases) {
    const outcome = errorOutcome(error);
    assert.deepEqual([outcome.exitCode, outcome.httpStatus], [exitCode, httpStatus], error.name);
  }
  assert.equal(errorOutcome("a string").code, "internal");
});
