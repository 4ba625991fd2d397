import type { SyncProgress } from "../../shared/sync/prepare_sync.ts";
import type { RunFunction } from "../operations/mod.ts";

/** Where the CLI reads and writes; `main` uses the process's, tests capture them. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: (name: string) => string | undefined;
  readonly stderrIsTerminal: boolean;
  /** For `serve`: settles when the process is asked to stop (SIGTERM, SIGINT); listens only once called. */
  readonly stopRequested?: () => Promise<string>;
  /** Replaces operations by name (tests: what an operation receives from the command line). */
  readonly operations?: Readonly<Record<string, RunFunction>>;
}

/** A progress line on stderr: redrawn in place on a terminal, one line every few seconds otherwise. */
export function progressPrinter(io: CliIo): { update: (p: SyncProgress) => void; end: () => void } {
  let last = 0;
  let drawn = false;
  return {
    update(p) {
      const text = p.phase === "reading"
        ? `reading ${p.done}/${p.total} resource lists`
        : p.phase === "pvc-data"
        ? `PVC data: ${p.done}/${p.total} claims done${p.detail ? `; ${p.detail}` : ""}`
        : `writing ${p.done}/${p.total} objects`;
      if (io.stderrIsTerminal) {
        io.stderr(`\r\x1b[2K${text}`);
        drawn = true;
        return;
      }
      const t = Date.now();
      if (p.done === p.total || t - last > 2000) {
        last = t;
        io.stderr(`${text}\n`);
      }
    },
    end() {
      if (drawn) io.stderr("\r\x1b[2K");
      drawn = false;
    },
  };
}
