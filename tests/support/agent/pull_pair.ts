/**
 * Two agent processes as pvc-sync uses them: node A's agent sends a volume, node B's agent pulls it into its
 * own (the agent's `pull` command), each rooted at its own kubelet folder, with a per-transfer key pair for
 * each side and the host keys pinned. `pull()` runs pvc-sync's client against B.
 */
import {
  generateTransferKey,
  type PullOutcome,
  type PullTarget,
  runPullOn,
} from "../../../shared/pvc/pull_client.ts";
import type { PullRequest } from "../../../shared/pvc/pull_protocol.ts";
import {
  type AgentProcess,
  generateKeyPair,
  type KeyPair,
  makeVolume,
  startAgentProcess,
  writeAuthorizedKeys,
} from "./agent_harness.ts";

const FOREVER = "2099-01-01T00:00:00Z";

export interface PullPair {
  /** Node A's volume (sent) and node B's (received into). */
  readonly sourceVolume: string;
  readonly drVolume: string;
  readonly sending: AgentProcess;
  readonly receiving: AgentProcess;
  readonly hostKeys: { readonly sending: KeyPair; readonly receiving: KeyPair };
  /** Node B's authorized-keys folder (more keys can be written there). */
  readonly receivingKeys: string;
  /** pvc-sync's connection to B, with the key B accepts. */
  readonly target: PullTarget;
  /** The request that makes B pull from A. */
  request(extra?: Partial<PullRequest>): PullRequest;
  pull(extra?: Partial<PullRequest>, options?: Parameters<typeof runPullOn>[2]): Promise<PullOutcome>;
  stop(): Promise<void>;
}

/** Starts the two agents under `dir` (`wrapper`: runs their `deno`, as in `startAgentProcess`). */
export async function startPullPair(
  dir: string,
  options: { readonly wrapper?: readonly string[]; readonly args?: readonly string[] } = {},
): Promise<PullPair> {
  const sourceVolume = await makeVolume(`${dir}/node-a`, "pod-a", "kubernetes.io~csi", "pv-a");
  const drVolume = await makeVolume(`${dir}/node-b`, "pod-b", "kubernetes.io~csi", "pv-b");
  const [hostA, hostB] = await Promise.all([generateKeyPair(dir, "host-a"), generateKeyPair(dir, "host-b")]);
  const receiver = generateTransferKey("receiver");
  const sender = generateTransferKey("sender");
  await Deno.mkdir(`${dir}/keys-a`);
  await Deno.mkdir(`${dir}/keys-b`);
  const grant = (publicKey: string, podUid: string, volumeName: string, mode: string) => [{
    publicKey,
    volume: { podUid, volumeName },
    mode,
    expiresAt: FOREVER,
  }];
  await writeAuthorizedKeys(`${dir}/keys-a/t1.json`, grant(sender.publicKey, "pod-a", "pv-a", "sender"));
  await writeAuthorizedKeys(`${dir}/keys-b/t1.json`, grant(receiver.publicKey, "pod-b", "pv-b", "receiver"));
  const start = (node: string, host: KeyPair, keys: string) =>
    startAgentProcess({
      root: `${dir}/${node}`,
      hostKey: host.privateKey,
      authorizedKeys: keys,
      ...(options.args === undefined ? {} : { args: options.args }),
      ...(options.wrapper === undefined ? {} : { wrapper: options.wrapper }),
    });
  const [sending, receiving] = await Promise.all([
    start("node-a", hostA, `${dir}/keys-a`),
    start("node-b", hostB, `${dir}/keys-b`),
  ]);
  const target = {
    host: "127.0.0.1",
    port: receiving.port,
    hostKey: hostB.publicKey,
    privateKey: receiver.privateKey,
  };
  const request = (extra: Partial<PullRequest> = {}): PullRequest => ({
    source: {
      host: "127.0.0.1",
      port: sending.port,
      hostKey: hostA.publicKey.split(" ").slice(0, 2).join(" "),
    },
    identity: sender.privateKey,
    ...extra,
  });
  return {
    sourceVolume,
    drVolume,
    sending,
    receiving,
    hostKeys: { sending: hostA, receiving: hostB },
    receivingKeys: `${dir}/keys-b`,
    target,
    request,
    pull: (extra, pullOptions) => runPullOn(target, request(extra), pullOptions),
    async stop() {
      await Promise.all([sending.stop(), receiving.stop()]);
    },
  };
}
