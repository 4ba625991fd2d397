/**
 * The config file as a live source of the runtime's configuration: the file's folder is watched (a
 * Kubernetes ConfigMap mount changes by swapping a symlink, which a watch of the file itself misses) and
 * checked again every `pollMs` besides; a changed file is loaded and checked, and taken when it is valid. An
 * invalid or unreadable version is refused: the last good configuration keeps running, and why is logged,
 * counted (`dr_syncer_config_reloads_total{source="file",result="invalid"}`) and shown in the status.
 */
import { errorMessage } from "../../shared/errors.ts";
import { readConfigFile } from "../operations/mod.ts";
import type { Runnable, Runtime } from "../runtime/mod.ts";

export interface ConfigFileSourceOptions {
  /** The config file. */
  readonly path: string;
  /** How long changes are gathered before the file is read (default 200 ms). */
  readonly debounceMs?: number;
  /** How often the file is read even without a watch event (default 10 s). */
  readonly pollMs?: number;
}

async function fingerprint(path: string): Promise<string | undefined> {
  try {
    const bytes = await Deno.readFile(path);
    return Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)).slice(0, 16))
      .map((b) => b.toString(16).padStart(2, "0")).join("");
  } catch {
    return undefined;
  }
}

export function configFileSource(runtime: Runtime, options: ConfigFileSourceOptions): Runnable {
  const stop = new AbortController();
  const dir = options.path.includes("/") ? options.path.slice(0, options.path.lastIndexOf("/")) || "/" : ".";
  let last: string | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let poll: ReturnType<typeof setInterval> | undefined;
  let watcher: Deno.FsWatcher | undefined;
  let checking: Promise<void> = Promise.resolve();
  const log = runtime.logger.child({ component: "config-file", path: options.path });

  const check = () =>
    checking = checking.then(async () => {
      if (stop.signal.aborted) return;
      const print = await fingerprint(options.path);
      if (print === last) return;
      last = print;
      try {
        const config = await readConfigFile(options.path);
        const taken = runtime.configState.setFile(config);
        const generation = runtime.configState.status.generation;
        if (taken) {
          runtime.metrics.configReload("file", "applied", generation);
          log.info("config file reloaded", { generation });
        } else {
          runtime.metrics.configReload("file", "invalid", generation);
          log.error("config file refused: the last good configuration keeps running", {
            error: runtime.configState.status.error?.message,
          });
        }
      } catch (error) {
        runtime.configState.refuse("config file", errorMessage(error));
        runtime.metrics.configReload("file", "invalid", runtime.configState.status.generation);
        log.error("config file refused: the last good configuration keeps running", { error });
      }
    });

  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(() => void check(), options.debounceMs ?? 200);
  };

  return {
    name: "config-file",
    async start() {
      last = await fingerprint(options.path); // the version the runtime started with
      try {
        watcher = Deno.watchFs(dir, { recursive: false });
        void (async () => {
          try {
            for await (const _event of watcher!) soon();
          } catch (error) {
            if (!stop.signal.aborted) log.warn("the config file's folder is no longer watched", { error });
          }
        })();
      } catch (error) {
        log.warn("cannot watch the config file's folder; reading it every poll instead", { error });
      }
      poll = setInterval(() => void check(), options.pollMs ?? 10_000);
    },
    async stop() {
      stop.abort();
      clearTimeout(timer);
      clearInterval(poll);
      watcher?.close();
      await checking;
    },
  };
}
