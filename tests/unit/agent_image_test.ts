/**
 * The agent's image (infra/Dockerfile.agent) holds nothing test-only and starts the agent with exactly the
 * Deno permissions `agentDenoPermissions` gives for the default paths and ports, like the DaemonSet.
 */
import assert from "node:assert/strict";
import { agentDenoPermissions } from "../../shared/pvc/agent_command.ts";

const DOCKERFILE = new URL("../../infra/Dockerfile.agent", import.meta.url).pathname;

Deno.test("the agent's image copies only the agent's files and runs it without -A", async () => {
  const text = await Deno.readTextFile(DOCKERFILE);
  const copies = text.split("\n").filter((line) => line.startsWith("COPY "));
  for (const line of copies) {
    assert.doesNotMatch(line, /tests\/|testing|bench|_test\.ts|functions\/|infra\//, line);
    assert.doesNotMatch(line, /^COPY (\.|shared\/) /, `copies more than the agent needs: ${line}`);
  }
  const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(text)![1]!) as string[];
  assert.ok(!entrypoint.includes("-A") && !entrypoint.includes("--allow-all"));
  assert.deepEqual(entrypoint, [
    "deno",
    "run",
    ...agentDenoPermissions({
      root: "/var/lib/kubelet",
      hostKeyFiles: ["/etc/dr-syncer"],
      authorizedKeys: "/etc/dr-syncer",
      host: "0.0.0.0",
      port: 2222,
      healthHost: "127.0.0.1",
      healthPort: 9222,
    }),
    "--cached-only",
    "--no-code-cache",
    "agent/main.ts",
  ]);
  assert.match(text, /apt-get install .*\bbubblewrap\b/);
});

Deno.test("the agent imports only files the image copies", async () => {
  const text = await Deno.readTextFile(DOCKERFILE);
  const copied = text.split("\n").filter((line) => line.startsWith("COPY ")).flatMap((line) =>
    line.slice(5).trim().split(/\s+/).slice(0, -1)
  );
  const info = new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL("../../agent/main.ts", import.meta.url).pathname],
    stdout: "piped",
    stderr: "null",
  });
  const graph = JSON.parse(new TextDecoder().decode((await info.output()).stdout)) as {
    modules: { specifier: string }[];
  };
  const root = new URL("../../", import.meta.url).href;
  const local = graph.modules.map((m) => m.specifier).filter((s) => s.startsWith(root)).map((s) =>
    s.slice(root.length)
  );
  assert.ok(local.length > 10);
  for (const file of local) {
    assert.ok(
      copied.some((source) => source.endsWith("/") ? file.startsWith(source) : file === source),
      file,
    );
  }
});
