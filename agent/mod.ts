/**
 * The PVC data agent: an SSH server that runs only rsync servers confined to one volume folder per key (and
 * the pull: its rsync client, confined the same way).
 * `main.ts` is the entry (`deno task agent`); the format and the rules are in docs/agent.md.
 */
export {
  AgentUsageError,
  AuthorizedKeysError,
  CommandRefusedError,
  VolumeNotFoundError,
} from "./agent_errors.ts";
export { type Agent, type AgentOptions, REFUSED_EXIT_CODE, startAgent } from "./agent_server.ts";
export {
  type AuthorizedKey,
  type AuthorizedKeys,
  keyFingerprint,
  keysMatching,
  parseAuthorizedKeys,
  type VolumeRef,
} from "./authorized_keys.ts";
export { type AuthorizedKeysStore, createAuthorizedKeysStore } from "./authorized_keys_store.ts";
export {
  checkSandbox,
  type ConfinedSpec,
  DATA_CAPABILITIES,
  type Sandbox,
  SANDBOX_VOLUME,
  sandboxArgs,
  spawnConfined,
} from "./confine.ts";
export { Admission, type ConnectionLimits, RefusalLog } from "./connection_limits.ts";
export { type HealthStatus, startHealthServer } from "./health_server.ts";
export { AGENT_HELP, parseAgentArgs, type ParsedAgentArgs } from "./parse_agent_args.ts";
export {
  parseRsyncCommand,
  type RsyncCommand,
  rsyncServerArgs,
  type TransferMode,
} from "./parse_rsync_command.ts";
export { resolveTransferPaths } from "./resolve_transfer_paths.ts";
export { resolveVolume } from "./resolve_volume.ts";
export { RSYNC_OPTIONS, type RsyncOptionRule } from "./rsync_options.ts";
export { type RsyncResult, runRsync, type RunRsyncOptions } from "./run_rsync.ts";
export { MAX_COMMAND_LENGTH, splitCommand } from "./split_command.ts";
export { SSH_CIPHERS } from "./ssh_ciphers.ts";
export { PERSISTENT_VOLUME_PLUGINS } from "./volume_plugins.ts";
