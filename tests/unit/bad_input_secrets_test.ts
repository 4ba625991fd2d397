/**
 * Secrets never leak into messages or logs: a token with a line break (which Deno's Headers quote
 * whole in their error), tokens in error texts of the client and the API server, logged errors.
 */
import assert from "node:assert/strict";
import {
  errorMessage,
  errorOutcome,
  InvalidInputError,
  MAX_ERROR_MESSAGE_CHARS,
} from "../../shared/errors.ts";
import {
  type ClusterAccess,
  ClusterCredentialsError,
  ClusterUnreachableError,
  createKubeClient,
  kubeApiErrorFromResponse,
  normaliseKubeError,
} from "../../shared/kube/mod.ts";
import { createJsonLogger, createTextLogger, redactSecrets } from "../../shared/log/mod.ts";

const SECRET = "SECRET-PART-OF-THE-TOKEN";

const ACCESS: ClusterAccess = {
  contextName: "prod",
  server: "https://127.0.0.1:1",
  namespace: undefined,
  caPem: undefined,
  certPem: undefined,
  keyPem: undefined,
  skipTlsVerify: false,
  token: undefined,
  tokenFile: undefined,
  basicAuth: undefined,
  impersonate: undefined,
  pluginAuth: undefined,
};

Deno.test("redactSecrets removes bearer and basic credentials, private keys and token fields", () => {
  const cases: [string, string][] = [
    [`Invalid header value: "Bearer abc\n${SECRET}"`, 'Invalid header value: "Bearer [redacted]"'],
    [`Invalid header value: "Bearer abc`, 'Invalid header value: "Bearer [redacted]'],
    [`request refused: Bearer ${SECRET} rejected`, "request refused: Bearer [redacted] rejected"],
    [`authorization: Bearer ${SECRET}`, "authorization: [redacted]"],
    ["Basic dXNlcjpwYXNz was refused", "Basic [redacted] was refused"],
    [`{"token":"${SECRET}"}`, '{"token":"[redacted]"}'],
    [`  token: ${SECRET}`, "  token: [redacted]"],
    [`-----BEGIN EC PRIVATE KEY-----\n${SECRET}\n-----END EC PRIVATE KEY-----`, "[redacted]"],
  ];
  for (const [text, expected] of cases) assert.equal(redactSecrets(text), expected);
  // messages about tokens, without a token in them, are left alone
  for (
    const text of [
      "users[0].user.token: contains a line break or another control character, which cannot be sent",
      'Cannot read the credential in file "/run/token": no such file',
    ]
  ) assert.equal(redactSecrets(text), text);
});

Deno.test("a token with a line break never appears in the client's error", async () => {
  const error = await Promise.resolve().then(() => createKubeClient({ ...ACCESS, token: `abc\n${SECRET}` }))
    .then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof InvalidInputError, String(error));
  assert.equal(errorOutcome(error).exitCode, 2);
  assert.doesNotMatch(error.message, /abc|SECRET/);
  assert.match(
    error.message,
    /^Cannot use the credentials of cluster "prod": they cannot be sent as an HTTP header/,
  );
});

Deno.test("a token file with a line break never appears in the request's error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/token`, `abc\n${SECRET}\n`);
    const client = createKubeClient({ ...ACCESS, tokenFile: `${dir}/token` });
    try {
      const error = await client.request({ method: "GET", path: "/api" }).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(error instanceof ClusterCredentialsError, String(error));
      assert.doesNotMatch(error.message, /abc|SECRET/);
      assert.doesNotMatch(errorMessage(error), /abc|SECRET/);
    } finally {
      client.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("client and API server errors have credentials redacted", () => {
  const unreachable = normaliseKubeError(new TypeError(`Invalid header value: "Bearer ${SECRET}"`), {
    cluster: "prod",
    server: "https://127.0.0.1:1",
  });
  assert.ok(unreachable instanceof ClusterUnreachableError);
  assert.doesNotMatch(unreachable.message, /SECRET/);
  const api = kubeApiErrorFromResponse(401, `Unauthorized: Bearer ${SECRET}`);
  assert.doesNotMatch(api.message, /SECRET/);
  const status = kubeApiErrorFromResponse(
    403,
    JSON.stringify({ message: `token "${SECRET}" is not allowed`, reason: "Forbidden" }),
  );
  assert.equal(
    status.message,
    `token "${SECRET}" is not allowed`,
    "a word after 'token' alone is not a credential",
  );
  const credentials = new ClusterCredentialsError("prod", `exec plugin said: Bearer ${SECRET}`);
  assert.doesNotMatch(credentials.message, /SECRET/);
});

Deno.test("errorMessage redacts and caps what the CLI, HTTP and the status page print", () => {
  const error = new Error(`Invalid header value: "Bearer abc\n${SECRET}"`);
  assert.equal(errorMessage(error), 'Invalid header value: "Bearer [redacted]"');
  const long = errorMessage(new Error("x".repeat(1_000_000)));
  assert.ok(long.length < MAX_ERROR_MESSAGE_CHARS + 50);
  assert.match(long, /\.\.\. \(998000 more characters\)$/);
});

Deno.test("loggers redact credentials in messages, string fields and errors", () => {
  const lines: string[] = [];
  for (const create of [createJsonLogger, createTextLogger]) {
    const logger = create({ write: (line) => lines.push(line) });
    logger.error(`request failed: Bearer ${SECRET}`, {
      error: new TypeError(`Invalid header value: "Bearer ${SECRET}"`),
      detail: `authorization: Basic ${SECRET}`,
      token: SECRET,
    });
  }
  assert.equal(lines.length, 2);
  for (const line of lines) assert.doesNotMatch(line, /SECRET/, line);
});
