/** The agent's command line: `deno task agent --root DIR --port N --host-key FILE --authorized-keys FILE ...`. */
import { parseArgs } from "node:util";
import type { CipherAlgorithm } from "ssh2";
import { isLogLevel, type LogLevel } from "../shared/log/mod.ts";
import { AgentUsageError } from "./agent_errors.ts";
import type { AgentOptions } from "./agent_server.ts";
import { SSH_CIPHERS } from "./ssh_ciphers.ts";

export const AGENT_HELP =
  `dr-syncer agent: the PVC data agent (an SSH server that runs only confined rsync servers)

Usage: deno task agent --root DIR --host-key FILE --authorized-keys PATH [options]

Required:
  --root DIR               the kubelet root; volumes are under DIR/pods/<pod-uid>/volumes (/var/lib/kubelet)
  --host-key FILE          the SSH host private key (OpenSSH or PEM); may be given more than once
  --authorized-keys PATH   the authorized-keys JSON file, or a folder of *.json files (a mounted Secret);
                           read again at every login, so new keys need no restart (docs/agent.md)

Options:
  --host ADDR              address to listen on for SSH (default 0.0.0.0)
  --port N                 SSH port (default 2222; 0 picks a free port, logged as "port")
  --health-host ADDR       address of the health endpoint (default 127.0.0.1)
  --health-port N          HTTP port of GET /healthz and GET /readyz (default 9222; 0 picks a free port)
  --max-sessions N         most logged-in connections at a time, one transfer each (default 8)
  --max-unauthenticated N  most connections not logged in yet, in all (default 32)
  --max-unauthenticated-per-address N
                           most connections not logged in yet from one address (default 4)
  --login-timeout SECONDS  disconnect clients that have not logged in by then (default 10)
  --grace-period SECONDS   on SIGTERM, how long running transfers may finish (default 30)
  --rsync PATH             the rsync binary (default rsync, from the system's folders); every rsync runs
                           confined to its volume by bubblewrap (docs/agent.md)
  --bwrap PATH             the bubblewrap binary (default bwrap, from PATH)
  --ciphers LIST           SSH ciphers offered, comma-separated (default ${SSH_CIPHERS.offered.join(",")};
                           also: ${
    SSH_CIPHERS.supported.filter((c) => !SSH_CIPHERS.offered.includes(c)).join(", ")
  })
  --log-level LEVEL        debug, info, warn or error (default info); logs are JSON lines on stdout
  -h, --help               this text

Exit codes: 0 stopped after SIGTERM/SIGINT, 2 bad usage or unusable files, 1 other failures.
`;

export type ParsedAgentArgs =
  | { readonly help: true }
  | { readonly help: false; readonly options: AgentOptions; readonly logLevel: LogLevel };

function integer(flag: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new AgentUsageError(
      `Invalid --${flag} ${JSON.stringify(raw)}: expected a whole number ${min}-${max}`,
    );
  }
  return Number(raw);
}

function required(flag: string, raw: string | undefined): string {
  if (raw === undefined || raw === "") throw new AgentUsageError(`Missing --${flag} (see --help)`);
  return raw;
}

function ciphers(raw: string | undefined): CipherAlgorithm[] {
  if (raw === undefined) return [...SSH_CIPHERS.offered];
  const names = raw.split(",").map((name) => name.trim()).filter((name) => name !== "");
  const known = new Set<string>(SSH_CIPHERS.supported);
  const bad = names.filter((name) => !known.has(name));
  if (names.length === 0 || bad.length > 0) {
    throw new AgentUsageError(
      `Invalid --ciphers ${JSON.stringify(raw)}: expected some of ${SSH_CIPHERS.supported.join(", ")}`,
    );
  }
  return names as CipherAlgorithm[];
}

/** The agent's options from its command-line arguments. Throws `AgentUsageError` for bad usage. */
export function parseAgentArgs(args: readonly string[]): ParsedAgentArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: false,
      options: {
        root: { type: "string" },
        host: { type: "string" },
        port: { type: "string" },
        "host-key": { type: "string", multiple: true },
        "authorized-keys": { type: "string" },
        "health-host": { type: "string" },
        "health-port": { type: "string" },
        "max-sessions": { type: "string" },
        "max-unauthenticated": { type: "string" },
        "max-unauthenticated-per-address": { type: "string" },
        "login-timeout": { type: "string" },
        "grace-period": { type: "string" },
        rsync: { type: "string" },
        bwrap: { type: "string" },
        ciphers: { type: "string" },
        "log-level": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    throw new AgentUsageError(`Invalid arguments: ${error instanceof Error ? error.message : error}`);
  }
  if (values.help) return { help: true };
  const logLevel = values["log-level"] ?? "info";
  if (!isLogLevel(logLevel)) {
    throw new AgentUsageError(
      `Invalid --log-level ${JSON.stringify(logLevel)}: expected debug, info, warn or error`,
    );
  }
  const host = values.host ?? "0.0.0.0";
  const hostKeyFiles = values["host-key"] ?? [];
  if (hostKeyFiles.length === 0) throw new AgentUsageError("Missing --host-key (see --help)");
  return {
    help: false,
    logLevel,
    options: {
      root: required("root", values.root),
      host,
      port: integer("port", values.port, 2222, 0, 65535),
      hostKeyFiles,
      authorizedKeys: required("authorized-keys", values["authorized-keys"]),
      healthHost: values["health-host"] ?? "127.0.0.1",
      healthPort: integer("health-port", values["health-port"], 9222, 0, 65535),
      maxSessions: integer("max-sessions", values["max-sessions"], 8, 1, 10000),
      maxUnauthenticated: integer("max-unauthenticated", values["max-unauthenticated"], 32, 1, 10000),
      maxUnauthenticatedPerAddress: integer(
        "max-unauthenticated-per-address",
        values["max-unauthenticated-per-address"],
        4,
        1,
        10000,
      ),
      loginTimeoutMs: integer("login-timeout", values["login-timeout"], 10, 1, 3600) * 1000,
      gracePeriodMs: integer("grace-period", values["grace-period"], 30, 0, 86400) * 1000,
      rsync: values.rsync ?? "rsync",
      bwrap: values.bwrap ?? "bwrap",
      ciphers: ciphers(values.ciphers),
    },
  };
}
