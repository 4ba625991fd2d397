import assert from "node:assert/strict";
import { AGENT_HELP, AgentUsageError, parseAgentArgs, SSH_CIPHERS } from "../../agent/mod.ts";

const required = [
  "--root",
  "/var/lib/kubelet",
  "--host-key",
  "/keys/host",
  "--authorized-keys",
  "/keys/auth",
];

Deno.test("parseAgentArgs takes the DaemonSet's flags and fills in the defaults", () => {
  const parsed = parseAgentArgs(required);
  assert.equal(parsed.help, false);
  if (parsed.help) return;
  assert.equal(parsed.logLevel, "info");
  assert.deepEqual(parsed.options, {
    root: "/var/lib/kubelet",
    host: "0.0.0.0",
    port: 2222,
    hostKeyFiles: ["/keys/host"],
    authorizedKeys: "/keys/auth",
    healthHost: "127.0.0.1",
    healthPort: 9222,
    maxSessions: 8,
    maxUnauthenticated: 32,
    maxUnauthenticatedPerAddress: 4,
    loginTimeoutMs: 10_000,
    gracePeriodMs: 30_000,
    rsync: "rsync",
    bwrap: "bwrap",
    ciphers: [...SSH_CIPHERS.offered],
  });
});

Deno.test("parseAgentArgs reads every option", () => {
  const parsed = parseAgentArgs([
    ...required,
    "--host-key",
    "/keys/host2",
    "--host=127.0.0.1",
    "--port",
    "0",
    "--health-port",
    "0",
    "--health-host",
    "::1",
    "--max-sessions",
    "2",
    "--max-unauthenticated",
    "7",
    "--max-unauthenticated-per-address",
    "3",
    "--bwrap",
    "/opt/bwrap",
    "--login-timeout",
    "5",
    "--grace-period",
    "0",
    "--rsync",
    "/opt/rsync",
    "--ciphers",
    "aes256-gcm@openssh.com,chacha20-poly1305@openssh.com",
    "--log-level",
    "debug",
  ]);
  assert.ok(!parsed.help);
  if (parsed.help) return;
  assert.equal(parsed.logLevel, "debug");
  assert.deepEqual(parsed.options.hostKeyFiles, ["/keys/host", "/keys/host2"]);
  assert.equal(parsed.options.host, "127.0.0.1");
  assert.equal(parsed.options.healthHost, "::1");
  assert.equal(parsed.options.port, 0);
  assert.equal(parsed.options.healthPort, 0);
  assert.equal(parsed.options.maxSessions, 2);
  assert.equal(parsed.options.maxUnauthenticated, 7);
  assert.equal(parsed.options.maxUnauthenticatedPerAddress, 3);
  assert.equal(parsed.options.bwrap, "/opt/bwrap");
  assert.equal(parsed.options.loginTimeoutMs, 5000);
  assert.equal(parsed.options.gracePeriodMs, 0);
  assert.equal(parsed.options.rsync, "/opt/rsync");
  assert.deepEqual(parsed.options.ciphers, ["aes256-gcm@openssh.com", "chacha20-poly1305@openssh.com"]);
});

Deno.test("parseAgentArgs answers --help, and the help names every flag", () => {
  assert.deepEqual(parseAgentArgs(["--help"]), { help: true });
  assert.deepEqual(parseAgentArgs(["-h"]), { help: true });
  for (
    const flag of [
      "--root",
      "--host-key",
      "--authorized-keys",
      "--host",
      "--port",
      "--health-host",
      "--health-port",
      "--max-sessions",
      "--max-unauthenticated",
      "--max-unauthenticated-per-address",
      "--login-timeout",
      "--grace-period",
      "--rsync",
      "--bwrap",
      "--ciphers",
      "--log-level",
    ]
  ) {
    assert.ok(AGENT_HELP.includes(`${flag} `), flag);
  }
});

Deno.test("parseAgentArgs refuses bad usage with a message naming the flag", () => {
  const cases: [readonly string[], RegExp][] = [
    [[], /Missing --host-key/],
    [["--host-key", "k", "--authorized-keys", "a"], /Missing --root/],
    [["--root", "r", "--host-key", "k"], /Missing --authorized-keys/],
    [[...required, "--port", "70000"], /Invalid --port "70000"/],
    [[...required, "--port", "-1"], /Invalid arguments|Invalid --port/],
    [[...required, "--max-sessions", "0"], /Invalid --max-sessions "0"/],
    [
      [...required, "--max-unauthenticated-per-address", "0"],
      /Invalid --max-unauthenticated-per-address "0"/,
    ],
    [[...required, "--grace-period", "1.5"], /Invalid --grace-period/],
    [[...required, "--ciphers", "aes128-cbc"], /Invalid --ciphers "aes128-cbc"/],
    [[...required, "--ciphers", ""], /Invalid --ciphers/],
    [[...required, "--log-level", "loud"], /Invalid --log-level "loud"/],
    [[...required, "--unknown"], /Invalid arguments/],
    [[...required, "positional"], /Invalid arguments/],
  ];
  for (const [args, message] of cases) {
    assert.throws(() => parseAgentArgs(args), (error: unknown) => {
      assert.ok(error instanceof AgentUsageError, String(error));
      assert.match(error.message, message, args.join(" "));
      return true;
    });
  }
});
