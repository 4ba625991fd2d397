/** Test support for the agent and for the tests that run agents (pvc-sync): real processes, real files. */
export {
  type AgentProcess,
  generateKeyPair,
  HOST_ALIAS,
  type KeyPair,
  type LogEntry,
  makeVolume,
  rsyncVia,
  run,
  type RunResult,
  sshArgs,
  type SshOptions,
  sshTransport,
  sshVia,
  type StartAgentOptions,
  startAgentProcess,
  writeAuthorizedKeys,
  writeCsiVolumeData,
  writeKnownHosts,
} from "./agent_harness.ts";
export {
  pseudoRandomBytes,
  sampleTree,
  snapshotTree,
  type TreeEntry,
  type TreeSnapshot,
} from "./tree_snapshot.ts";
export { type PullPair, startPullPair } from "./pull_pair.ts";
