/**
 * What the agent's benchmarks share: OpenSSH's sshd started as the baseline (a temporary config on
 * 127.0.0.1, one authorized key; needs root), free ports, medians.
 */
import { createServer } from "node:net";

/** A TCP port nothing listens on now. */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts connections on `port` (10 s at most). */
export async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error(`Nothing listens on port ${port}`);
}

export function median(numbers: readonly number[]): number {
  const sorted = [...numbers].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** OpenSSH's sshd on 127.0.0.1 with `hostKey` (a private key file), accepting `clientPublicKey`. */
export async function startSshd(
  dir: string,
  hostKey: string,
  clientPublicKey: string,
): Promise<{ readonly port: number; readonly pid: number; stop(): Promise<void> }> {
  const port = await freePort();
  await Deno.writeTextFile(`${dir}/sshd_authorized_keys`, `${clientPublicKey}\n`);
  await Deno.mkdir("/run/sshd", { recursive: true });
  await Deno.writeTextFile(
    `${dir}/sshd_config`,
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${dir}/sshd_authorized_keys`,
      `PidFile ${dir}/sshd.pid`,
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PermitRootLogin prohibit-password",
      "UsePAM no",
      "StrictModes no",
      "",
    ].join("\n"),
  );
  const sshd = new Deno.Command("/usr/sbin/sshd", {
    args: ["-D", "-e", "-f", `${dir}/sshd_config`],
    stdout: "null",
    stderr: "null",
  }).spawn();
  await waitForPort(port);
  return {
    port,
    pid: sshd.pid,
    async stop() {
      sshd.kill("SIGTERM");
      await sshd.status;
    },
  };
}
