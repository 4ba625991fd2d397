/**
 * The agent's command checks under fuzzed input (fast-check): whatever the command string, `splitCommand` +
 * `parseRsyncCommand` either refuse it with a `CommandRefusedError` or return an rsync server command whose
 * every option is in the allowed table and whose paths stay relative and free of `..`, globs and options, so
 * that `rsyncServerArgs` can never carry a refused option, a program or a path outside the volume.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  CommandRefusedError,
  parseRsyncCommand,
  RSYNC_OPTIONS,
  rsyncServerArgs,
  splitCommand,
} from "../../agent/mod.ts";

const REFUSED_LONG = [...RSYNC_OPTIONS.long].filter(([, rule]) => rule.kind === "refused").map(([name]) =>
  name
);
const ALLOWED_LONG = [...RSYNC_OPTIONS.long].filter(([, rule]) => rule.kind !== "refused").map(([name]) =>
  name
);

/** Words a hostile or confused client might send. */
const word = fc.oneof(
  fc.constantFrom("rsync", "--server", "--sender", ".", "./", "dest", "x/", "-e", "sh", "-c", "bash"),
  fc.constantFrom(...REFUSED_LONG.map((n) => `--${n}`), ...REFUSED_LONG.map((n) => `--${n}=/etc`)),
  fc.constantFrom(...ALLOWED_LONG.map((n) => `--${n}`)),
  fc.constantFrom(
    "-logDtpre.iLsfxCIvu",
    "-vlHogDtpAXrSe.iLsfxCIvu",
    "-Lr",
    "-e.LsfxC",
    "-esh",
    "-T/tmp",
    "-M--log-file=/x",
  ),
  fc.constantFrom("../x", "a/../../b", "/etc/passwd", "/", "~root", "*", "x?", "[a]", "-", "--", "--x=$(id)"),
  fc.constantFrom(";", "&&", "|", "`id`", "$(id)", ">", "<", "\n", "'", '"', "\\", "#"),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: "binary", maxLength: 8 }),
);

/** Checks one command; true when it was accepted (then its parse is safe). */
function checkAccepted(command: string): boolean {
  let parsed;
  try {
    parsed = parseRsyncCommand(splitCommand(command));
  } catch (error) {
    assert.ok(error instanceof CommandRefusedError, `${JSON.stringify(command)} threw ${error}`);
    assert.ok(error.message.length < 2000, "refusals stay short");
    return false;
  }
  const args = rsyncServerArgs(parsed, parsed.paths);
  assert.equal(args[0], "--server");
  for (const option of parsed.options) {
    if (option.startsWith("--")) {
      const name = option.slice(2).split("=")[0]!;
      const rule = RSYNC_OPTIONS.long.get(name);
      assert.ok(
        rule !== undefined && rule.kind !== "refused",
        `${option} passed in ${JSON.stringify(command)}`,
      );
    } else {
      assert.ok(/^-[A-Za-z0-9.]+$/.test(option), `${option} passed in ${JSON.stringify(command)}`);
      assert.ok(!/[LkKTfF0sM]/.test(option.split(".")[0]!.slice(1)), `${option} passed`);
    }
  }
  for (const path of parsed.paths) {
    assert.ok(!path.startsWith("-"), `path ${path} looks like an option`);
    assert.ok(!path.split("/").includes(".."), `path ${path} climbs out`);
    assert.ok(!/[*?[]/.test(path), `path ${path} has glob characters`);
    assert.ok(
      [...path].every((c) => c.charCodeAt(0) >= 0x20),
      `path ${JSON.stringify(path)} has control characters`,
    );
  }
  return true;
}

Deno.test("agent argv fuzz: random commands are refused or stay within the allowed table", () => {
  fc.assert(
    fc.property(fc.array(word, { maxLength: 12 }), (words) => {
      checkAccepted(words.join(" "));
    }),
    { numRuns: 5_000 },
  );
});

Deno.test("agent argv fuzz: rsync server commands with injected words are refused or safe", () => {
  let accepted = 0;
  fc.assert(
    fc.property(
      fc.array(word, { maxLength: 6 }),
      fc.array(word, { maxLength: 4 }),
      fc.boolean(),
      (options, paths, sender) => {
        const command = ["rsync", "--server", ...(sender ? ["--sender"] : []), ...options, ".", ...paths];
        if (checkAccepted(command.join(" "))) accepted++;
      },
    ),
    { numRuns: 5_000 },
  );
  assert.ok(accepted > 20, `the accepting path was exercised (${accepted} of 5000 accepted)`);
});

Deno.test("agent argv fuzz: every refused long option is refused in every spelling", () => {
  for (const name of REFUSED_LONG) {
    for (
      const form of [`--${name}`, `--${name}=/tmp/x`, `--${name} /tmp/x`, `'--${name}=/tmp/x'`, `--${name}=`]
    ) {
      assert.throws(
        () => parseRsyncCommand(splitCommand(`rsync --server -logDtpre.iLsfxCIvu ${form} . d`)),
        CommandRefusedError,
        form,
      );
    }
  }
});
