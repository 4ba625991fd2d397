/**
 * Splits the command string of an SSH `exec` request into words, the way a POSIX shell would split a plain
 * command, without running a shell: the agent never hands the string to one. The rsync client quotes its
 * remote arguments for a shell (`my\ dir/`, `\*:1`), so those quotes are undone here.
 *
 * Anything that would make a shell do more than run one program is refused rather than taken literally:
 * command separators and pipes, redirections, substitutions, subshells, comments and line breaks.
 */
import { CommandRefusedError } from "./agent_errors.ts";

/** Longest command accepted; rsync's server commands are a few hundred bytes. */
export const MAX_COMMAND_LENGTH = 8192;

/** Characters a shell treats as syntax when they are neither quoted nor escaped. */
const OPERATORS = new Set([";", "&", "|", "<", ">", "(", ")", "`", "$"]);

function refuse(detail: string): never {
  throw new CommandRefusedError(`Cannot run the command: ${detail} (the agent runs only "rsync --server")`);
}

/**
 * The words of `command`. Throws `CommandRefusedError` for shell syntax, control characters, unbalanced
 * quotes and commands longer than `MAX_COMMAND_LENGTH`.
 */
export function splitCommand(command: string): string[] {
  if (command.length > MAX_COMMAND_LENGTH) refuse(`longer than ${MAX_COMMAND_LENGTH} characters`);
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let i = 0;
  const finish = () => {
    if (inWord) words.push(word);
    word = "";
    inWord = false;
  };
  while (i < command.length) {
    const c = command[i]!;
    // deno-lint-ignore no-control-regex
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(c)) refuse("control characters or line breaks");
    if (c === " " || c === "\t") {
      finish();
      i++;
    } else if (c === "\\") {
      if (i + 1 >= command.length) refuse("a trailing backslash");
      word += command[i + 1];
      inWord = true;
      i += 2;
    } else if (c === "'") {
      const end = command.indexOf("'", i + 1);
      if (end < 0) refuse("an unclosed single quote");
      word += command.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      i++;
      inWord = true;
      for (;;) {
        if (i >= command.length) refuse("an unclosed double quote");
        const d = command[i]!;
        if (d === '"') break;
        if (d === "$" || d === "`") refuse(`a substitution (${JSON.stringify(d)}) inside double quotes`);
        if (d === "\\" && i + 1 < command.length && '"\\$`'.includes(command[i + 1]!)) {
          word += command[i + 1];
          i += 2;
        } else {
          word += d;
          i++;
        }
      }
      i++;
    } else if (OPERATORS.has(c)) {
      refuse(`shell syntax ${JSON.stringify(c)}`);
    } else if (c === "#" && !inWord) {
      refuse("a shell comment");
    } else {
      word += c;
      inWord = true;
      i++;
    }
  }
  finish();
  if (words.length === 0) refuse("the command is empty");
  return words;
}
