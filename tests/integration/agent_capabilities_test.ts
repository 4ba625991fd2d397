/**
 * The capabilities the DaemonSet gives the agent (rendered by infra/agent_templates.ts) are enough, and
 * SYS_ADMIN among them is needed: two agents run under exactly the rendered capability set (`setpriv
 * --bounding-set`, with no_new_privs as `allowPrivilegeEscalation: false` sets it) and one pulls a volume from
 * the other with owners, modes, links, ACLs, extended attributes and file capabilities intact; an agent
 * without SYS_ADMIN refuses to start (it could not confine rsync) instead of running unconfined.
 */
import assert from "node:assert/strict";
import {
  type PullPair,
  run,
  sampleTree,
  snapshotTree,
  startAgentProcess,
  startPullPair,
} from "../support/agent/mod.ts";
import { agentDaemonSet } from "../../infra/agent_templates.ts";
import { agentSchema } from "../../shared/config/config_schema.ts";

/** The capabilities the rendered DaemonSet adds (all others dropped). */
function renderedCapabilities(): string[] {
  // deno-lint-ignore no-explicit-any
  const ds = agentDaemonSet(agentSchema.parse({})) as any;
  const sc = ds.spec.template.spec.containers[0].securityContext;
  assert.deepEqual(sc.capabilities.drop, ["ALL"]);
  assert.equal(sc.allowPrivilegeEscalation, false);
  return sc.capabilities.add;
}

const limitedTo = (caps: readonly string[]) => [
  "setpriv",
  "--nnp",
  `--bounding-set=-all,${caps.map((cap) => `+${cap.toLowerCase()}`).join(",")}`,
  "--",
];

Deno.test("the agent works with exactly the DaemonSet's capabilities, and needs SYS_ADMIN among them", async () => {
  const dir = await Deno.makeTempDir({ prefix: "agent-caps-" });
  let pair: PullPair | undefined;
  try {
    const caps = renderedCapabilities();
    assert.ok(caps.includes("SYS_ADMIN") && caps.includes("SETFCAP"), caps.join(","));
    pair = await startPullPair(dir, { wrapper: limitedTo(caps) });
    const { sourceVolume, drVolume } = pair;
    await sampleTree(sourceVolume, { bigFileBytes: 256 * 1024 });
    for (
      const [program, args] of [
        ["setfacl", ["-m", "u:1234:rw", `${sourceVolume}/a.txt`]],
        ["setfattr", ["-n", "user.kept", "-v", "yes", `${sourceVolume}/a.txt`]],
        ["setcap", ["cap_net_raw+ep", `${sourceVolume}/exec.sh`]],
      ] as const
    ) {
      const result = await run(program, args);
      assert.equal(result.code, 0, result.stderr);
    }
    const outcome = await pair.pull();
    assert.equal(outcome.exitCode, 0, outcome.stderr);
    const [got, want] = await Promise.all([snapshotTree(drVolume), snapshotTree(sourceVolume)]);
    assert.deepEqual(got.entries, want.entries);
    assert.deepEqual(got.hardLinks, want.hardLinks);
    const attrs = async (volume: string) => [
      (await run("getfacl", ["-n", "--omit-header", "a.txt"], { cwd: volume })).stdout,
      (await run("getfattr", ["-d", "a.txt"], { cwd: volume })).stdout,
      (await run("getcap", ["exec.sh"], { cwd: volume })).stdout,
    ];
    const copied = await attrs(drVolume);
    assert.deepEqual(copied, await attrs(sourceVolume));
    assert.match(copied.join("\n"), /user:1234:rw-[\s\S]*user\.kept="yes"[\s\S]*cap_net_raw=ep/);

    await assert.rejects(
      startAgentProcess({
        root: `${dir}/node-a`,
        hostKey: pair.hostKeys.sending.privateKey,
        authorizedKeys: `${dir}/keys-a`,
        wrapper: limitedTo(caps.filter((cap) => cap !== "SYS_ADMIN")),
      }),
      /exited with code 2 before listening: dr-syncer agent: Cannot confine rsync/,
    );
  } finally {
    await pair?.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
