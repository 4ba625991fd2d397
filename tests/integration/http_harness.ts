/**
 * Test helpers for the runtime: a config over the two real clusters with unique namespaces, API
 * tokens in a fake environment, the runtime and its app in-process, or `serve` as a real process.
 */
import { type Config, type ConfigInput, loadConfig } from "../../shared/config/mod.ts";
import { createTextLogger, silentLogger } from "../../shared/log/mod.ts";
import { createApp } from "../../functions/http/create_app.ts";
import { watchers, type WatchManager } from "../../functions/watch/mod.ts";
import { createRuntime, type Runtime, type RuntimeOptions } from "../../functions/runtime/mod.ts";
import { DR_KUBECONFIG, SOURCE_KUBECONFIG } from "../_clusters.ts";

export const TOKENS = {
  ops: `ops-${crypto.randomUUID()}`,
  stage: `stage-${crypto.randomUUID()}`,
  read: `read-${crypto.randomUUID()}`,
} as const;

export const TOKEN_ENV: Readonly<Record<string, string>> = {
  TEST_OPS_TOKEN: TOKENS.ops,
  TEST_STAGE_TOKEN: TOKENS.stage,
  TEST_READ_TOKEN: TOKENS.read,
};

export type ReplicationInput = NonNullable<ConfigInput["replications"]>[number];

/** A config over the test clusters with three tokens (ops: everything; stage: stage only; read), as written. */
export function testConfigInput(
  replications: readonly ReplicationInput[],
  extra: Partial<ConfigInput> = {},
): ConfigInput {
  return {
    clusters: [
      { name: "source", kubeconfig: { path: SOURCE_KUBECONFIG } },
      { name: "dr", kubeconfig: { path: DR_KUBECONFIG } },
    ],
    tokens: [
      {
        name: "ops",
        value: { env: "TEST_OPS_TOKEN" },
        operations: [
          "read",
          "stage",
          "cutover",
          "failback",
          "pvc-sync",
          "fence",
          "force",
          "allow-source-unavailable",
          "allow-dr-unavailable",
          "accept-stale",
        ],
      },
      { name: "ci", value: { env: "TEST_STAGE_TOKEN" }, operations: ["stage"] },
      { name: "viewer", value: { env: "TEST_READ_TOKEN" }, operations: ["read"] },
    ],
    replications: [...replications],
    ...extra,
  };
}

/** `testConfigInput`, parsed. */
export function testConfig(
  replications: readonly ReplicationInput[],
  extra: Partial<ConfigInput> = {},
): Config {
  return loadConfig(JSON.stringify(testConfigInput(replications, extra)), "test config");
}

/** A manual replication from `source` namespace to `dest` namespace. */
export function replication(
  name: string,
  source: string,
  dest: string,
  extra: Partial<ReplicationInput> = {},
) {
  return {
    name,
    source: { cluster: "source", namespace: source },
    destination: { cluster: "dr", namespace: dest },
    ...extra,
  } satisfies ReplicationInput;
}

export interface TestRuntime extends AsyncDisposable {
  readonly runtime: Runtime;
  /** The watchers of the continuous replications, added to the runtime, not started. */
  readonly watches: WatchManager;
  readonly app: ReturnType<typeof createApp>;
  /** `app.request` with a bearer token (and JSON body when given). */
  request(
    path: string,
    init?: { method?: string; token?: string | undefined; body?: unknown; headers?: Record<string, string> },
  ): Promise<Response>;
}

export async function testRuntime(
  config: Config,
  options: Partial<RuntimeOptions> & { watchDebounceMs?: number; watchLeaseSeconds?: number } = {},
): Promise<TestRuntime> {
  const { watchDebounceMs, watchLeaseSeconds, ...runtimeOptions } = options;
  const runtime = await createRuntime({
    config,
    // DR_SYNCER_TEST_LOG=debug shows the runtime's logs
    logger: Deno.env.get("DR_SYNCER_TEST_LOG")
      ? createTextLogger({
        write: (line) => Deno.stderr.writeSync(new TextEncoder().encode(`${line}\n`)),
        level: "debug",
      })
      : silentLogger,
    readEnv: (name) => TOKEN_ENV[name],
    leaseSeconds: 15,
    ...runtimeOptions,
  });
  const watches = watchers(runtime, { debounceMs: watchDebounceMs, leaseSeconds: watchLeaseSeconds });
  const app = createApp(runtime);
  return {
    runtime,
    watches,
    app,
    request(path, init = {}) {
      const headers: Record<string, string> = { ...init.headers };
      if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
      if (init.body !== undefined) headers["content-type"] = "application/json";
      return Promise.resolve(app.request(path, {
        method: init.method ?? (init.body !== undefined ? "POST" : "GET"),
        headers,
        ...(init.body !== undefined
          ? { body: typeof init.body === "string" ? init.body : JSON.stringify(init.body) }
          : {}),
      }));
    },
    async [Symbol.asyncDispose]() {
      await runtime.drain(5_000);
      await runtime.close();
    },
  };
}

/** The JSON of a response, with its status, for one-line assertions. */
export async function json<T = Record<string, unknown>>(response: Response | Promise<Response>) {
  const r = await response;
  const text = await r.text();
  let body: T;
  try {
    body = JSON.parse(text) as T;
  } catch {
    body = { text } as T;
  }
  return { status: r.status, body, headers: r.headers };
}
