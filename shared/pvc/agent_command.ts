/**
 * The agent's command line as it is started for real (the DaemonSet, the image, the tests' agent
 * processes): `deno run` with only the permissions the agent needs, then the agent's flags. Pure.
 *
 * - read: the kubelet root (volume folders), the host key files, the authorized keys, and the rsync binary
 *   when it is named by path;
 * - write: `/tmp` only (a pull's key folder, the sandbox check's empty folder);
 * - net: listening on the SSH and health addresses only (the agent connects nowhere itself: a pull's ssh
 *   runs in rsync's sandbox);
 * - run: bubblewrap only (every rsync runs inside it);
 * - ffi: OpenSSL's libcrypto only, by path (the fast outbound AES-GCM; without it ssh2's own cipher).
 *
 * No env, no sys, no other program: anything else the agent tried would fail with Deno's NotCapable error.
 */

/** Where libcrypto is looked for, by path (Debian's layout, per architecture); the FFI permission names these. */
export const LIBCRYPTO_PATHS: readonly string[] = [
  "/usr/lib/x86_64-linux-gnu/libcrypto.so.3",
  "/usr/lib/aarch64-linux-gnu/libcrypto.so.3",
];

/** What the agent touches, from its flags. */
export interface AgentAccess {
  readonly root: string;
  readonly hostKeyFiles: readonly string[];
  readonly authorizedKeys: string;
  readonly host: string;
  /** 0: a free port, so the permission names the address only. */
  readonly port: number;
  readonly healthHost: string;
  readonly healthPort: number;
  /** `--rsync`: a name (found by the sandbox) or a path (read by the agent). */
  readonly rsync?: string;
  /** `--bwrap`, default `bwrap`. */
  readonly bwrap?: string;
}

function listen(host: string, port: number): string {
  const address = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  return port === 0 ? address : `${address}:${port}`;
}

/** `deno run`'s permission flags for an agent started with `access`. */
export function agentDenoPermissions(access: AgentAccess): string[] {
  const read = [
    access.root,
    ...access.hostKeyFiles,
    access.authorizedKeys,
    ...(access.rsync?.includes("/") ? [access.rsync] : []),
  ];
  return [
    `--allow-read=${[...new Set(read)].join(",")}`,
    "--allow-write=/tmp",
    `--allow-net=${
      [...new Set([listen(access.host, access.port), listen(access.healthHost, access.healthPort)])].join(",")
    }`,
    `--allow-run=${access.bwrap ?? "bwrap"}`,
    `--allow-ffi=${LIBCRYPTO_PATHS.join(",")}`,
  ];
}
