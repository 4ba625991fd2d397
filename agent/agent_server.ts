/**
 * The PVC data agent: an SSH server (npm:ssh2) that runs one thing, an rsync server confined to the volume
 * folder the client's key is authorized for.
 *
 * - Authentication: public keys only, each key looked up in the authorized-keys file(s) at the moment the
 *   client offers it (`AuthorizedKeysStore`), so a new transfer's key works without a restart and an expired
 *   one stops working without one. A key grants one mode (send or receive) on one volume until `expiresAt`.
 * - One session per connection, and in it one `exec` of `rsync --server ...`, checked by `splitCommand` and
 *   `parseRsyncCommand`, its paths confined by `resolveVolume` and `resolveTransferPaths`. Shells,
 *   subsystems (sftp), forwarding and agent forwarding are refused.
 * - Connections are counted from their first byte (the agent owns the listening socket and hands connections
 *   to ssh2): at most `maxUnauthenticated` that have not logged in yet, `maxUnauthenticatedPerAddress` of them
 *   from one address, and apart from those at most `maxSessions` logged-in ones (`connection_limits.ts`), so
 *   connections that never log in cannot take the places of transfers. A connection that has not logged in
 *   within `loginTimeoutMs`, or sent its command within `loginTimeoutMs` after that, is closed, and so is one
 *   whose command is done. Refusals are logged at most once per interval, then summed up.
 * - `shutdown()` stops accepting, lets running transfers finish within the grace period, then stops them.
 */
import { Buffer } from "node:buffer";
import { createServer, type Socket } from "node:net";
import {
  type AuthContext,
  type CipherAlgorithm,
  type Connection,
  Server,
  type ServerChannel,
  type Session,
  utils,
} from "ssh2";
import type { Logger } from "../shared/log/mod.ts";
import { AgentUsageError, CommandRefusedError, VolumeNotFoundError } from "./agent_errors.ts";
import { type AuthorizedKey, keyFingerprint, keysMatching } from "./authorized_keys.ts";
import { addressKey, Admission, RefusalLog } from "./connection_limits.ts";
import { checkSandbox, type Sandbox } from "./confine.ts";
import { createAuthorizedKeysStore } from "./authorized_keys_store.ts";
import { type HealthServer, type HealthStatus, startHealthServer } from "./health_server.ts";
import { parseRsyncCommand, rsyncServerArgs, type TransferMode } from "./parse_rsync_command.ts";
import { readPullRequest, runPull } from "./run_pull.ts";
import { PULL_COMMAND } from "../shared/pvc/pull_protocol.ts";
import { resolveTransferPaths } from "./resolve_transfer_paths.ts";
import { resolveVolume } from "./resolve_volume.ts";
import { runRsync } from "./run_rsync.ts";
import { splitCommand } from "./split_command.ts";
import {
  connectionCrypto,
  inboundGcmBackend,
  outboundGcmBackend,
  upgradeInboundCipher,
  upgradeOutboundCipher,
} from "./ssh_openssl_gcm.ts";

/** Exit status sent to a client whose command was refused (a shell's "cannot execute"). */
export const REFUSED_EXIT_CODE = 126;
/** Failed authentications after which a connection is closed (OpenSSH's MaxAuthTries). */
const MAX_AUTH_TRIES = 6;
/** A connection whose one command has ended is closed after this, if the client has not closed it. */
const CLOSE_AFTER_COMMAND_MS = 5000;
/** Refused connections are logged once per this, then summed up. */
const REFUSAL_LOG_INTERVAL_MS = 10_000;

export interface AgentOptions {
  /** The kubelet root (`/var/lib/kubelet`): volumes are under `<root>/pods/<uid>/volumes`. */
  readonly root: string;
  readonly host: string;
  /** 0 picks a free port (the port is in `Agent.port` and the "agent listening" log entry). */
  readonly port: number;
  /** Private host key files (OpenSSH or PEM format). */
  readonly hostKeyFiles: readonly string[];
  /** The authorized-keys file, or a folder of `*.json` authorized-keys files. */
  readonly authorizedKeys: string;
  readonly healthHost: string;
  /** 0 picks a free port. */
  readonly healthPort: number;
  /** Most logged-in connections at a time (each runs at most one transfer). */
  readonly maxSessions: number;
  /** Most connections not logged in yet, counted from their first byte. */
  readonly maxUnauthenticated: number;
  /** Most connections not logged in yet from one remote address. */
  readonly maxUnauthenticatedPerAddress: number;
  /** A client must log in within this, and then send its command within this again. */
  readonly loginTimeoutMs: number;
  /** How long `shutdown()` lets running transfers finish by default. */
  readonly gracePeriodMs: number;
  /** The rsync binary: a name (found in the sandbox's system folders) or an absolute path. */
  readonly rsync: string;
  /** The bubblewrap binary that confines every rsync (`confine.ts`). */
  readonly bwrap: string;
  readonly ciphers: readonly CipherAlgorithm[];
  readonly now?: () => Date;
}

export interface Agent {
  readonly port: number;
  readonly healthPort: number;
  status(): HealthStatus;
  /** Stops accepting, waits up to `gracePeriodMs` for running transfers, stops the rest, closes everything. */
  shutdown(gracePeriodMs?: number): Promise<void>;
}

/** One TCP connection, with the SSH state once ssh2 has read the client's header. */
interface Link {
  readonly socket: Socket;
  readonly address: string;
  state?: ClientState;
}

interface ClientState {
  readonly id: number;
  readonly connection: Link;
  readonly client: Connection;
  readonly log: Logger;
  grants: readonly AuthorizedKey[];
  failedAuths: number;
  sessionOpened: boolean;
  /** Ends an idle connection: not logged in, no command, or its command done. */
  timer: ReturnType<typeof setTimeout> | undefined;
  transfer: { readonly abort: AbortController; readonly done: Promise<void> } | undefined;
}

async function readHostKeys(files: readonly string[]): Promise<Buffer[]> {
  if (files.length === 0) throw new AgentUsageError("Cannot start the agent: no host key given (--host-key)");
  const keys: Buffer[] = [];
  for (const file of files) {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(file);
    } catch (error) {
      throw new AgentUsageError(
        `Cannot read host key ${JSON.stringify(file)}: ${error instanceof Error ? error.message : error}`,
      );
    }
    const key = Buffer.from(bytes);
    const parsed = utils.parseKey(key);
    const first = Array.isArray(parsed) ? parsed[0] : parsed;
    if (first === undefined || first instanceof Error || !first.isPrivateKey()) {
      const why = first instanceof Error ? first.message : "not a private key";
      throw new AgentUsageError(`Cannot use host key ${JSON.stringify(file)}: ${why}`);
    }
    keys.push(key);
  }
  return keys;
}

function truncate(text: string, max = 512): string {
  return text.length > max ? `${text.slice(0, max)}...` : text;
}

function describeVolume(key: AuthorizedKey): string {
  return "path" in key.volume ? key.volume.path : `${key.volume.podUid}/${key.volume.volumeName}`;
}

/** The sandbox of the agent's rsync processes, checked to work here; throws `AgentUsageError` otherwise. */
async function prepareSandbox(options: AgentOptions): Promise<{ sandbox: Sandbox; version: string }> {
  let rsync = options.rsync;
  if (rsync.includes("/")) {
    try {
      rsync = await Deno.realPath(rsync);
    } catch (error) {
      throw new AgentUsageError(
        `Cannot use rsync ${JSON.stringify(rsync)}: ${error instanceof Error ? error.message : error}`,
      );
    }
  }
  const sandbox = { bwrap: options.bwrap, rsync };
  const empty = await Deno.makeTempDir({ dir: "/tmp", prefix: "dr-syncer-agent-check-" });
  try {
    return { sandbox, version: await checkSandbox(sandbox, empty) };
  } finally {
    await Deno.remove(empty).catch(() => {});
  }
}

/**
 * Deno runs the agent with narrow permissions (shared/pvc/agent_command.ts): a path given on the command line
 * that they do not cover is bad usage, said plainly, not a NotCapable error at the first login.
 */
function checkPermissions(options: AgentOptions): void {
  const paths: [string, "read" | "write"][] = [
    [options.root, "read"],
    [options.authorizedKeys, "read"],
    ...options.hostKeyFiles.map((file): [string, "read"] => [file, "read"]),
    ["/tmp", "write"],
  ];
  for (const [path, name] of paths) {
    if (Deno.permissions.querySync({ name, path }).state !== "granted") {
      throw new AgentUsageError(
        `Deno's permissions do not let the agent ${name} ${
          JSON.stringify(path)
        }: run it with --allow-${name}=${path} ` +
          "(docs/agent.md, shared/pvc/agent_command.ts)",
      );
    }
  }
}

/** Starts the SSH server and the health endpoint. */
export async function startAgent(options: AgentOptions, logger: Logger): Promise<Agent> {
  const now = options.now ?? (() => new Date());
  checkPermissions(options);
  const hostKeys = await readHostKeys(options.hostKeyFiles);
  try {
    const root = await Deno.stat(options.root);
    if (!root.isDirectory) throw new Error("not a folder");
  } catch (error) {
    throw new AgentUsageError(
      `Cannot use root ${JSON.stringify(options.root)}: ${error instanceof Error ? error.message : error}`,
    );
  }
  const sandbox = await prepareSandbox(options);
  const store = createAuthorizedKeysStore(options.authorizedKeys, logger);
  /** rsync's pipes left at 64 KiB (`pipe_size.ts`): said once per agent. */
  let pipeFallbackLogged = false;
  const onPipeFallback = (reason: string) => {
    if (pipeFallbackLogged) return;
    pipeFallbackLogged = true;
    logger.warn("rsync pipes not enlarged (reads of 64 KiB, more CPU per GiB)", { reason });
  };
  /** Open TCP connections by remote `ip:port`, with the SSH state once ssh2 has read the client's header. */
  const connections = new Map<string, Link>();
  const admission = new Admission<Link>(options);
  const refusals = new RefusalLog(logger, REFUSAL_LOG_INTERVAL_MS);
  const loginTimeouts = new RefusalLog(logger, REFUSAL_LOG_INTERVAL_MS, {
    one: "closing connection",
    summary: "connections closed",
  });
  let draining = false;
  let transfers = 0;
  let nextId = 1;
  /** Fires "changed" when a transfer ends or a connection closes (shutdown waits on it). */
  const changes = new EventTarget();
  const changed = () => changes.dispatchEvent(new Event("changed"));
  /** Resolves when `done()` is true or at `deadline` (ms since the epoch), whichever comes first. */
  const waitUntil = async (done: () => boolean, deadline: number) => {
    while (!done() && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(finish, deadline - Date.now());
        function finish() {
          clearTimeout(timer);
          changes.removeEventListener("changed", finish);
          resolve();
        }
        changes.addEventListener("changed", finish);
      });
    }
  };

  const status = (): HealthStatus => ({
    draining,
    connections: connections.size,
    unauthenticated: admission.unauthenticated,
    sessions: admission.sessions,
    transfers,
  });

  async function authenticate(state: ClientState, ctx: AuthContext) {
    if (ctx.method !== "publickey") {
      ctx.reject(["publickey"]);
      return;
    }
    const fail = (reason: string, fields: Record<string, unknown> = {}) => {
      state.failedAuths++;
      state.log.warn("authentication refused", { reason, user: ctx.username, ...fields });
      ctx.reject(["publickey"]);
      if (state.failedAuths >= MAX_AUTH_TRIES) state.client.end();
    };
    const fingerprint = keyFingerprint(ctx.key.data);
    const matching = keysMatching(await store.load(), ctx.key.data);
    const at = now();
    const valid = matching.filter((key) => key.expiresAt > at);
    if (valid.length === 0) {
      fail(matching.length === 0 ? "unknown key" : "key expired", {
        fingerprint,
        ...(matching.length > 0 ? { keys: matching.map((k) => k.name) } : {}),
      });
      return;
    }
    if (ctx.signature === undefined || ctx.blob === undefined) {
      ctx.accept(); // "this key would do": the client signs next
      return;
    }
    if (valid[0]!.key.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) {
      fail("bad signature", { fingerprint });
      return;
    }
    if (!admission.authenticate(state.connection)) {
      // every transfer place is taken: this connection must not wait in one of the login places
      refusals.refused(state.connection.address, "session limit reached", {
        maxSessions: options.maxSessions,
      });
      ctx.reject(["publickey"]);
      state.client.end();
      return;
    }
    state.grants = valid;
    state.log.info("client authenticated", {
      user: ctx.username,
      fingerprint,
      keys: valid.map((k) => k.name),
    });
    ctx.accept();
  }

  /** Ends the connection after `ms` unless something clears or re-arms the timer first. */
  function endAfter(state: ClientState, ms: number, reason: string) {
    clearTimeout(state.timer);
    state.timer = setTimeout(() => {
      state.log.info("closing connection", { reason });
      state.client.end();
    }, ms);
  }

  function refuse(channel: ServerChannel, log: Logger, command: string, error: Error) {
    log.warn("command refused", { reason: error.message, command: truncate(command) });
    channel.stderr.write(`dr-syncer-agent: ${error.message}\n`);
    channel.exit(REFUSED_EXIT_CODE);
    channel.end();
  }

  /** The one grant of the logged-in key for `mode` (refused when there is none, or more than one volume). */
  function grantFor(state: ClientState, mode: TransferMode, at: Date): AuthorizedKey {
    const grants = state.grants.filter((key) => key.mode === mode && key.expiresAt > at);
    if (grants.length === 0) {
      const other = state.grants.some((key) => key.mode !== mode && key.expiresAt > at);
      throw new CommandRefusedError(
        other
          ? mode === "sender"
            ? "This key may only receive (write) into its volume, not send from it"
            : "This key may only send (read) from its volume, not receive into it (--sender is required)"
          : "This key's authorization has expired",
      );
    }
    const volumes = new Set(grants.map((key) => JSON.stringify(key.volume)));
    if (volumes.size > 1) {
      throw new CommandRefusedError(
        `This key is authorized to ${mode === "sender" ? "send from" : "receive into"} ${volumes.size} ` +
          "volumes: use one key per transfer",
      );
    }
    return grants[0]!;
  }

  /** Runs `fn` counted as a running transfer that `shutdown()` waits for and a closed connection stops. */
  async function asTransfer<T>(state: ClientState, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const abort = new AbortController();
    let finish = () => {};
    state.transfer = { abort, done: new Promise<void>((resolve) => finish = resolve) };
    transfers++;
    try {
      return await fn(abort.signal);
    } finally {
      transfers--;
      state.transfer = undefined;
      finish();
      changed();
    }
  }

  /**
   * `dr-syncer-agent pull`: copies the volume this key may receive into from the peer named in the request
   * (shared/pvc/pull_protocol.ts, agent/run_pull.ts).
   */
  async function pull(state: ClientState, channel: ServerChannel) {
    const grant = grantFor(state, "receiver", now());
    const volumeDir = await resolveVolume(options.root, grant.volume);
    const request = await readPullRequest(channel, options.loginTimeoutMs);
    const fields = {
      key: grant.name,
      mode: "pull",
      volume: describeVolume(grant),
      peer: `${request.source.host}:${request.source.port}`,
      verify: request.verify,
      ...(request.bandwidthLimitKiB === undefined ? {} : { bandwidthLimitKiB: request.bandwidthLimitKiB }),
    };
    const started = performance.now();
    state.log.info("transfer started", fields);
    let stderr = "";
    const result = await asTransfer(state, (signal) =>
      runPull({
        sandbox: sandbox.sandbox,
        volumeDir,
        request,
        channel,
        signal,
        onStderr: (text) => stderr = (stderr + text).slice(-2048),
      }));
    const entry = {
      ...fields,
      exitCode: result.code,
      ...(result.event === undefined
        ? {}
        : { files: result.event.files, bytes: result.event.bytes, wireBytes: result.event.wireBytes }),
      crypto: connectionCrypto(state.client),
      durationMs: Math.round(performance.now() - started),
      ...(stderr.trim() === "" ? {} : { stderr: stderr.trim() }),
    };
    if (result.code === 0) state.log.info("transfer finished", entry);
    else state.log.warn("transfer failed", entry);
    channel.exit(result.code);
    channel.end();
  }

  async function transfer(state: ClientState, channel: ServerChannel, command: string) {
    const log = state.log;
    try {
      if (draining) throw new CommandRefusedError("Cannot start a transfer: the agent is shutting down");
      if (command.trim() === PULL_COMMAND) {
        await pull(state, channel);
        return;
      }
      const rsync = parseRsyncCommand(splitCommand(command));
      const at = now();
      const grant = grantFor(state, rsync.mode, at);
      const volumeDir = await resolveVolume(options.root, grant.volume);
      const paths = await resolveTransferPaths(volumeDir, rsync.paths);
      const fields = { key: grant.name, mode: rsync.mode, volume: describeVolume(grant), paths };
      const started = performance.now();
      log.info("transfer started", { ...fields, options: rsync.options });
      await asTransfer(state, async (signal) => {
        let stderr = "";
        const result = await runRsync({
          sandbox: sandbox.sandbox,
          args: rsyncServerArgs(rsync, paths),
          volume: volumeDir,
          writable: rsync.mode === "receiver",
          channel,
          socket: state.connection.socket,
          signal,
          onStderr: (text) => stderr = (stderr + text).slice(-2048),
          onPipeFallback,
        });
        const entry = {
          ...fields,
          exitCode: result.code,
          signal: result.signal,
          bytesIn: result.bytesIn,
          bytesOut: result.bytesOut,
          pipeKiB: result.pipeSize / 1024,
          outputReads: result.outputReads,
          crypto: connectionCrypto(state.client),
          durationMs: Math.round(performance.now() - started),
          ...(stderr.trim() === "" ? {} : { stderr: stderr.trim() }),
        };
        if (result.code === 0) log.info("transfer finished", entry);
        else log.warn("transfer failed", entry);
      });
    } catch (error) {
      if (error instanceof CommandRefusedError || error instanceof VolumeNotFoundError) {
        refuse(channel, log, command, error);
        return;
      }
      log.error("transfer error", { error: error instanceof Error ? error.message : String(error) });
      channel.stderr.write("dr-syncer-agent: the transfer could not be run (see the agent's log)\n");
      channel.exit(1);
      channel.end();
    } finally {
      endAfter(state, CLOSE_AFTER_COMMAND_MS, "command done");
    }
  }

  function onSession(state: ClientState, session: Session) {
    const refuseRequest = (kind: string) => (_accept: unknown, reject: (() => void) | undefined) => {
      state.log.warn("request refused", { request: kind });
      reject?.();
    };
    session.on("shell", refuseRequest("shell"));
    session.on("subsystem", refuseRequest("subsystem"));
    session.on("sftp", refuseRequest("sftp"));
    session.on("pty", refuseRequest("pty"));
    session.on("x11", refuseRequest("x11"));
    session.on("auth-agent", refuseRequest("auth-agent"));
    session.on("exec", (accept, _reject, info) => {
      // ssh2 answers a second exec on the same session with no channel (its types say otherwise).
      const channel = accept() as ServerChannel | undefined;
      if (channel === undefined) return;
      clearTimeout(state.timer);
      void transfer(state, channel, info.command);
    });
  }

  const ssh = new Server({
    hostKeys,
    algorithms: { cipher: [...options.ciphers] },
    ident: "dr-syncer-agent",
  }, (client, info) => {
    const remote = `${info.ip}:${info.port}`;
    const connection = connections.get(remote);
    if (connection === undefined || draining) {
      client.on("error", () => {});
      client.end();
      return;
    }
    const id = nextId++;
    const state: ClientState = {
      id,
      connection,
      client,
      log: logger.child({ connection: id, remote }),
      grants: [],
      failedAuths: 0,
      sessionOpened: false,
      timer: undefined,
      transfer: undefined,
    };
    client.on("error", (error: Error) => state.log.debug("connection error", { error: error.message }));
    // After each key exchange: AES-GCM through libcrypto rather than node:crypto, encryption (what the agent
    // sends: pulls from it) and decryption (what it receives: pushes into it).
    client.on("handshake", () => {
      upgradeOutboundCipher(client);
      upgradeInboundCipher(client);
    });
    connection.state = state;
    client.on("close", () => {
      clearTimeout(state.timer);
      state.transfer?.abort.abort();
    });
    client.on("authentication", (ctx) => {
      authenticate(state, ctx).catch((error) => {
        state.log.error("authentication error", {
          error: error instanceof Error ? error.message : String(error),
        });
        ctx.reject();
      });
    });
    client.on("ready", () => {
      endAfter(state, options.loginTimeoutMs, "no command in time");
      client.on("session", (accept, reject) => {
        if (state.sessionOpened || draining) {
          reject();
          return;
        }
        state.sessionOpened = true;
        onSession(state, accept());
      });
    });
  });

  // The agent owns the listening socket, so the limits and the login timeout apply from the first byte:
  // ssh2 only reports a connection once the client has sent its SSH header.
  const server = createServer((socket) => {
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    const address = addressKey(socket.remoteAddress);
    socket.on("error", () => {});
    if (draining) {
      refusals.refused(address, "shutting down");
      socket.destroy();
      return;
    }
    const connection: Link = { socket, address };
    const admitted = admission.admit(address, connection);
    if (!admitted.admitted) {
      refusals.refused(address, admitted.reason);
      socket.destroy();
      return;
    }
    if (admitted.evicted !== undefined) {
      refusals.refused(admitted.evicted.address, "too many unauthenticated connections", { evicted: true });
      admitted.evicted.socket.destroy();
    }
    connections.set(remote, connection);
    const loginTimer = setTimeout(() => {
      if (admission.isSession(connection)) return;
      loginTimeouts.refused(address, "not logged in in time");
      socket.destroy();
    }, options.loginTimeoutMs);
    socket.on("close", () => {
      clearTimeout(loginTimer);
      admission.release(connection);
      if (connections.get(remote) === connection) connections.delete(remote);
      changed();
    });
    ssh.injectSocket(socket);
  });

  const port = await new Promise<number>((resolve, reject) => {
    server.once(
      "error",
      (error: Error) =>
        reject(new AgentUsageError(`Cannot listen on ${options.host}:${options.port}: ${error.message}`)),
    );
    server.listen(options.port, options.host, () => {
      const address = server.address();
      resolve(typeof address === "object" && address !== null ? address.port : options.port);
    });
  });
  server.on("error", (error: Error) => logger.error("server error", { error: error.message }));
  let health: HealthServer;
  try {
    health = await startHealthServer({ hostname: options.healthHost, port: options.healthPort, status });
  } catch (error) {
    server.close();
    throw new AgentUsageError(
      `Cannot listen on ${options.healthHost}:${options.healthPort} (health): ${
        error instanceof Error ? error.message : error
      }`,
    );
  }
  logger.info("agent listening", {
    host: options.host,
    port,
    healthPort: health.port,
    root: options.root,
    maxSessions: options.maxSessions,
    maxUnauthenticated: options.maxUnauthenticated,
    maxUnauthenticatedPerAddress: options.maxUnauthenticatedPerAddress,
    loginTimeoutSeconds: options.loginTimeoutMs / 1000,
    ciphers: options.ciphers,
    outboundGcm: outboundGcmBackend(),
    inboundGcm: inboundGcmBackend(),
    rsync: sandbox.version,
    confinement: "bubblewrap",
  });

  let stopping: Promise<void> | undefined;
  async function shutdown(gracePeriodMs = options.gracePeriodMs): Promise<void> {
    draining = true;
    logger.info("agent stopping", { transfers, connections: connections.size, gracePeriodMs });
    server.close();
    const closeIdle = () => {
      for (const { socket, state } of connections.values()) {
        if (state === undefined) socket.destroy();
        else if (state.transfer === undefined) state.client.end();
      }
    };
    closeIdle();
    const deadline = Date.now() + gracePeriodMs;
    await waitUntil(() => transfers === 0, deadline);
    const running = [...connections.values()].flatMap(({ state }) =>
      state?.transfer === undefined ? [] : [state.transfer]
    );
    if (running.length > 0) {
      logger.warn("grace period over, stopping transfers", { transfers: running.length });
      for (const transfer of running) transfer.abort.abort();
      await Promise.all(running.map((transfer) => transfer.done));
    }
    // A client closes its connection once it has the exit status; closing it first can cut off the last
    // bytes it still has to hand to rsync, so give it a moment.
    await waitUntil(
      () => connections.size === 0,
      Math.max(Date.now() + 2000, Math.min(deadline, Date.now() + 5000)),
    );
    closeIdle();
    await health.close();
    refusals.close();
    loginTimeouts.close();
    logger.info("agent stopped");
  }

  return {
    port,
    healthPort: health.port,
    status,
    shutdown: (gracePeriodMs) => stopping ??= shutdown(gracePeriodMs),
  };
}
