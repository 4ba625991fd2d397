/**
 * Checks the argv of an SSH `exec` request and turns it into the one thing the agent runs: an rsync server
 * (`rsync --server [--sender] OPTIONS . PATH...`). Pure: no file system, so every rule can be unit-tested.
 *
 * Refused: any program but `rsync`, rsync not in server mode, options outside `RSYNC_OPTIONS`, a value an
 * option's schema does not accept, arguments between the options and the `.` that rsync puts before the
 * paths, and paths that are empty, start with `-` or `~`, contain `..` as a component, control characters or
 * glob characters (an rsync sender expands globs itself, which could reach past the checked path). Whether a
 * path stays inside the volume is decided later, on the file system (`resolveTransferPaths`).
 */
import { CommandRefusedError } from "./agent_errors.ts";
import { RSYNC_OPTIONS, type RsyncOptionRule } from "./rsync_options.ts";

/** `sender`: the agent's rsync reads the volume (a pull). `receiver`: it writes the volume (a push). */
export type TransferMode = "sender" | "receiver";

/** An rsync server command that passed every check of this module. */
export interface RsyncCommand {
  readonly mode: TransferMode;
  /** Allowed options, in order, without `--server`/`--sender`; long options with values as `--name=value`. */
  readonly options: readonly string[];
  /** The transfer paths as the client named them (relative to the volume, or absolute). */
  readonly paths: readonly string[];
}

/** Longest transfer path accepted. */
const MAX_PATH_LENGTH = 4096;

function refuse(message: string): never {
  throw new CommandRefusedError(message);
}

function refuseRule(display: string, rule: RsyncOptionRule | undefined): never {
  if (rule?.kind === "refused") refuse(`Option ${JSON.stringify(display)} is not allowed: ${rule.reason}`);
  refuse(`Option ${JSON.stringify(display)} is not allowed`);
}

/** One bundle of single-letter options, `-vlogDtpre.iLsfxCIvu`. */
function checkShortBundle(token: string): void {
  for (let j = 1; j < token.length; j++) {
    const c = token[j]!;
    const rest = token.slice(j + 1);
    if (c === "e") {
      // In server mode `-e` carries the client's protocol capabilities (`.iLsfxCIvu`), never a program.
      if (!/^\.[A-Za-z]*$/.test(rest)) {
        refuse(`Option "-e" is not allowed: it runs another program (got ${JSON.stringify(token)})`);
      }
      return;
    }
    if (c === "B" || c === "@") {
      if (!/^-?\d{1,12}$/.test(rest)) {
        refuse(`Option "-${c}" needs a whole number, got ${JSON.stringify(token)}`);
      }
      return;
    }
    const rule = RSYNC_OPTIONS.short.get(c);
    if (rule?.kind !== "flag") refuseRule(`-${c}`, rule);
  }
}

function checkPath(path: string): void {
  const shown = JSON.stringify(path);
  if (path === "") refuse("Transfer path is empty");
  if (path.length > MAX_PATH_LENGTH) refuse(`Transfer path is longer than ${MAX_PATH_LENGTH} characters`);
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f]/.test(path)) refuse(`Transfer path ${shown} contains control characters`);
  if (path.startsWith("-")) refuse(`Transfer path ${shown} starts with "-" (an option after the paths)`);
  if (path.startsWith("~")) refuse(`Transfer path ${shown} starts with "~" (a home folder)`);
  if (path.split("/").includes("..")) refuse(`Transfer path ${shown} contains ".."`);
  if (/[*?[]/.test(path)) refuse(`Transfer path ${shown} contains a glob character (* ? [)`);
}

/**
 * The rsync server command in `argv` (the words of the SSH command). Throws `CommandRefusedError`, with a
 * message for the client, when anything in it is not allowed.
 */
export function parseRsyncCommand(argv: readonly string[]): RsyncCommand {
  const program = argv[0];
  if (program !== "rsync") {
    refuse(`Cannot run ${JSON.stringify(program ?? "")}: the agent runs only "rsync --server"`);
  }
  if (argv[1] !== "--server") refuse('Cannot run rsync: only "rsync --server" (a transfer) is allowed');

  let sender = false;
  const options: string[] = [];
  let i = 2;
  for (; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === ".") break;
    if (token.startsWith("--")) {
      const eq = token.indexOf("=");
      const name = eq < 0 ? token.slice(2) : token.slice(2, eq);
      const inline = eq < 0 ? undefined : token.slice(eq + 1);
      if (name === "") refuse('Argument "--" is not allowed');
      if (name === "server" || name === "sender") {
        if (inline !== undefined) refuse(`Option "--${name}" takes no value`);
        if (name === "sender") sender = true;
        continue;
      }
      const rule = RSYNC_OPTIONS.long.get(name);
      if (rule === undefined || rule.kind === "refused") refuseRule(`--${name}`, rule);
      if (rule.kind === "flag") {
        if (inline !== undefined) refuse(`Option "--${name}" takes no value`);
        options.push(`--${name}`);
        continue;
      }
      let raw = inline;
      if (raw === undefined) raw = argv[++i];
      if (raw === undefined) refuse(`Option "--${name}" needs a value`);
      const checked = rule.value.safeParse(raw);
      if (!checked.success) {
        const why = checked.error.issues[0]?.message ?? "not accepted";
        refuse(`Option "--${name}" has a value the agent does not accept: ${JSON.stringify(raw)}: ${why}`);
      }
      options.push(`--${name}=${checked.data}`);
    } else if (token.startsWith("-") && token.length > 1) {
      checkShortBundle(token);
      options.push(token);
    } else {
      refuse(`Unexpected argument ${JSON.stringify(token)} before the transfer paths`);
    }
  }
  if (i >= argv.length) refuse('Cannot run rsync: the command has no transfer paths (no "." argument)');
  const paths = argv.slice(i + 1);
  if (paths.length === 0) refuse("Cannot run rsync: the command names no transfer path");
  for (const path of paths) checkPath(path);
  const mode: TransferMode = sender ? "sender" : "receiver";
  if (mode === "receiver" && paths.length !== 1) {
    refuse(`Cannot run rsync: a receiving server takes one destination path, got ${paths.length}`);
  }
  return { mode, options, paths };
}

/** The arguments for the rsync binary: the checked command with `paths` replaced by the resolved ones. */
export function rsyncServerArgs(command: RsyncCommand, paths: readonly string[]): string[] {
  return [
    "--server",
    ...(command.mode === "sender" ? ["--sender"] : []),
    ...command.options,
    ".",
    ...paths,
  ];
}
