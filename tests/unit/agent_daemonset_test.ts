/**
 * The agent's DaemonSet as rendered (infra/agent_templates.ts): least privilege for a confined rsync,
 * Deno's permissions instead of -A, the health endpoint on the node's loopback at a configurable port.
 */
import assert from "node:assert/strict";
import { DATA_CAPABILITIES } from "../../agent/confine.ts";
import { AGENT_CAPABILITIES, agentDaemonSet } from "../../infra/agent_templates.ts";
import { agentSchema } from "../../shared/config/config_schema.ts";
import { agentDenoPermissions } from "../../shared/pvc/agent_command.ts";

// deno-lint-ignore no-explicit-any
type Loose = any;

function container(settings: Record<string, unknown> = {}): Loose {
  return (agentDaemonSet({ ...agentSchema.parse({}), ...settings }) as Loose).spec.template.spec
    .containers[0];
}

Deno.test("agent DaemonSet: the capabilities a confined rsync needs, and no others", () => {
  const sc = container().securityContext;
  assert.deepEqual(sc.capabilities.drop, ["ALL"]);
  assert.deepEqual(sc.capabilities.add, [
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "MKNOD",
    "SETFCAP",
    "SYS_ADMIN",
  ]);
  assert.deepEqual(sc.capabilities.add, AGENT_CAPABILITIES.map((c) => c.name));
  // every capability rsync keeps in its sandbox must be the container's to give
  for (const cap of DATA_CAPABILITIES) assert.ok(sc.capabilities.add.includes(cap), cap);
  assert.equal(sc.privileged, false);
  assert.equal(sc.allowPrivilegeEscalation, false);
  assert.equal(sc.readOnlyRootFilesystem, true);
  assert.deepEqual(sc.appArmorProfile, { type: "Unconfined" });
  assert.ok(container({ port: 22 }).securityContext.capabilities.add.includes("NET_BIND_SERVICE"));
});

Deno.test("agent DaemonSet: Deno runs the agent with only the permissions it needs", () => {
  const { command } = container();
  assert.ok(!command.includes("-A"));
  assert.deepEqual(command, [
    "deno",
    "run",
    ...agentDenoPermissions({
      root: "/var/lib/kubelet",
      hostKeyFiles: ["/etc/dr-syncer/host-key/ssh_host_ed25519_key"],
      authorizedKeys: "/etc/dr-syncer/authorized-keys",
      host: "0.0.0.0",
      port: 2222,
      healthHost: "127.0.0.1",
      healthPort: 9222,
    }),
    "--cached-only",
    "--no-code-cache",
    "agent/main.ts",
  ]);
  assert.deepEqual(command.slice(2, 7), [
    "--allow-read=/var/lib/kubelet,/etc/dr-syncer/host-key/ssh_host_ed25519_key,/etc/dr-syncer/authorized-keys",
    "--allow-write=/tmp",
    "--allow-net=0.0.0.0:2222,127.0.0.1:9222",
    "--allow-run=bwrap",
    "--allow-ffi=/usr/lib/x86_64-linux-gnu/libcrypto.so.3,/usr/lib/aarch64-linux-gnu/libcrypto.so.3",
  ]);
});

Deno.test("agent DaemonSet: the health endpoint on the node's loopback, its port configurable", () => {
  const standard = container();
  assert.deepEqual(standard.args, [
    "--root",
    "/var/lib/kubelet",
    "--port",
    "2222",
    "--host-key",
    "/etc/dr-syncer/host-key/ssh_host_ed25519_key",
    "--authorized-keys",
    "/etc/dr-syncer/authorized-keys",
    "--health-host",
    "127.0.0.1",
    "--health-port",
    "9222",
    "--grace-period",
    "30",
  ]);
  assert.deepEqual(standard.livenessProbe.httpGet, { host: "127.0.0.1", path: "/healthz", port: "health" });
  assert.deepEqual(standard.readinessProbe.httpGet, { host: "127.0.0.1", path: "/readyz", port: "health" });
  // a second install on the same nodes picks another port
  const other = container({ healthPort: 9322, port: 2322 });
  assert.deepEqual(other.args.slice(8, 12), ["--health-host", "127.0.0.1", "--health-port", "9322"]);
  assert.deepEqual(other.ports.map((p: Loose) => [p.name, p.containerPort]), [["ssh", 2322], [
    "health",
    9322,
  ]]);
  assert.ok(other.command.includes("--allow-net=0.0.0.0:2322,127.0.0.1:9322"));
  // listening on every address, the probe goes to the pod's IP
  const open = container({ healthHost: "0.0.0.0" });
  assert.equal(open.livenessProbe.httpGet.host, undefined);
});
