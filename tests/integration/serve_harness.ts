/** Test helpers for `serve`: in-process through `runServe`, or as a real process. */
import { runServe } from "../../functions/serve/main.ts";
import { TOKEN_ENV } from "./http_harness.ts";

/** Writes a config (as JSON, which is YAML) to a temporary file; returns its path. */
export async function writeConfig(config: unknown, dir?: string): Promise<string> {
  const folder = dir ?? await Deno.makeTempDir({ prefix: "dr-syncer-serve-" });
  const path = `${folder}/config.yaml`;
  await Deno.writeTextFile(path, JSON.stringify(config, null, 2));
  return path;
}

export interface InProcessServe extends AsyncDisposable {
  readonly url: string;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Asks it to stop (as SIGTERM does) and resolves with the exit code. */
  stop(): Promise<number>;
}

/** `runServe` in this process on a free port, schedules off. */
export async function serveInProcess(
  argv: readonly string[],
  env: Record<string, string> = {},
): Promise<InProcessServe> {
  let out = "", err = "";
  let stop!: (reason: string) => void;
  const stopRequested = new Promise<string>((resolve) => stop = resolve);
  const listening = Promise.withResolvers<string>();
  // the dr-syncer.io objects are read only by the tests about them (their own namespace)
  const allEnv: Record<string, string> = { ...TOKEN_ENV, DR_SYNCER_RESOURCES: "off", ...env };
  const exit = runServe(["--port", "0", ...argv], {
    stdout: (t) => out += t,
    stderr: (t) => err += t,
    env: (name) => allEnv[name],
    stopRequested,
    schedules: false,
    onListen: ({ hostname, port }) => listening.resolve(`http://${hostname}:${port}`),
  });
  exit.then((code) => listening.reject(new Error(`serve exited with ${code} before listening: ${err}`)));
  const url = await listening.promise;
  let stopped: Promise<number> | undefined;
  const doStop = () => {
    stop("test");
    return stopped ??= exit;
  };
  return {
    url,
    stdout: () => out,
    stderr: () => err,
    stop: doStop,
    async [Symbol.asyncDispose]() {
      await doStop();
    },
  };
}

export interface ServeProcess extends AsyncDisposable {
  readonly url: string;
  readonly child: Deno.ChildProcess;
  /** Everything written to stderr so far (JSON log lines). */
  readonly stderr: () => string;
  /** Sends `signal` and waits for the exit. */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
}

const MAIN = new URL("../../functions/serve/main.ts", import.meta.url).pathname;

/** `serve` as a real process (`deno run -A functions/serve/main.ts`) on a free port. */
export async function serveProcess(
  argv: readonly string[],
  env: Record<string, string> = {},
): Promise<ServeProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "--port", "0", ...argv],
    env: { ...TOKEN_ENV, DR_SYNCER_RESOURCES: "off", ...env, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let err = "";
  const decoder = new TextDecoder();
  const pumpErr = (async () => {
    for await (const chunk of child.stderr) err += decoder.decode(chunk, { stream: true });
  })();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  let url: string | undefined;
  const deadline = Date.now() + 30_000;
  while (url === undefined && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    out += value;
    url = /serving on (http:\/\/\S+)/.exec(out)?.[1];
  }
  const pumpOut = (async () => {
    for (;;) {
      const { done } = await reader.read();
      if (done) break;
    }
  })();
  if (url === undefined) {
    child.kill("SIGKILL");
    await child.status;
    throw new Error(`serve did not start: ${out}\n${err}`);
  }
  let stopped: Promise<Deno.CommandStatus> | undefined;
  const stop = (signal: Deno.Signal = "SIGTERM") => {
    stopped ??= (async () => {
      try {
        child.kill(signal);
      } catch {
        // already exited
      }
      const status = await child.status;
      await Promise.all([pumpErr, pumpOut]);
      return status;
    })();
    return stopped;
  };
  return {
    url,
    child,
    stderr: () => err,
    stop,
    async [Symbol.asyncDispose]() {
      await stop("SIGKILL");
    },
  };
}
