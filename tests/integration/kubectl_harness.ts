/**
 * Test helpers: the real kubectl (`testenv.sh build-kubectl`, compiled once and cached) run against a test
 * cluster, its exit code and output returned as they are.
 */

export interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

let binary: Promise<string> | undefined;

/** The kubectl binary's path (built by the test environment's script on first use). */
export function kubectlBinary(): Promise<string> {
  binary ??= (async () => {
    const out = await runCommand("bash", [
      new URL("../testenv/testenv.sh", import.meta.url).pathname,
      "build-kubectl",
    ]);
    if (out.code !== 0) throw new Error(`building kubectl failed: ${out.stderr}`);
    return out.stdout.trim().split("\n").at(-1)!;
  })();
  return binary;
}

/** Runs a command, `stdin` written to it when given. */
export async function runCommand(command: string, args: string[], stdin?: string): Promise<KubectlResult> {
  const child = new Deno.Command(command, {
    args,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const out = await child.output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

/**
 * kubectl with a kubeconfig, its own discovery cache (`cacheDir`: CRDs installed by the test are seen at
 * once) and `args`.
 */
export async function kubectl(
  kubeconfig: string,
  cacheDir: string,
  args: string[],
  stdin?: string,
): Promise<KubectlResult> {
  return await runCommand(
    await kubectlBinary(),
    ["--kubeconfig", kubeconfig, "--cache-dir", cacheDir, ...args],
    stdin,
  );
}
