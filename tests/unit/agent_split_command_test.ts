import assert from "node:assert/strict";
import { CommandRefusedError, MAX_COMMAND_LENGTH, splitCommand } from "../../agent/mod.ts";

Deno.test("splitCommand splits an rsync server command on spaces and tabs", () => {
  assert.deepEqual(splitCommand("rsync --server -logDtpre.iLsfxCIvu  . dest\tx"), [
    "rsync",
    "--server",
    "-logDtpre.iLsfxCIvu",
    ".",
    "dest",
    "x",
  ]);
});

Deno.test("splitCommand undoes the quoting rsync clients add for a shell", () => {
  assert.deepEqual(splitCommand("rsync --server . my\\ dir/"), ["rsync", "--server", ".", "my dir/"]);
  assert.deepEqual(splitCommand("rsync . a\\ b*c\\$d\\;e"), ["rsync", ".", "a b*c$d;e"]);
  assert.deepEqual(splitCommand("rsync --usermap=\\*:1"), ["rsync", "--usermap=*:1"]);
  assert.deepEqual(splitCommand('x \'single $quoted;|\' "double \\"q\\" \\$ ok"'), [
    "x",
    "single $quoted;|",
    'double "q" $ ok',
  ]);
  assert.deepEqual(splitCommand("x ''"), ["x", ""]);
  assert.deepEqual(splitCommand("x a'b'\"c\"d"), ["x", "abcd"]);
  assert.deepEqual(splitCommand("x a#b"), ["x", "a#b"]);
});

Deno.test("splitCommand refuses shell syntax instead of taking it literally", () => {
  const refused = [
    "rsync --server . . ; touch x",
    "rsync --server . . && touch x",
    "rsync --server . . || touch x",
    "rsync --server . . | tee x",
    "rsync --server . . > x",
    "rsync --server . . < x",
    "rsync --server . $(id)",
    "rsync --server . `id`",
    "rsync --server . ${HOME}",
    'rsync --server . "$(id)"',
    'rsync --server . "`id`"',
    "(rsync --server . .)",
    "rsync --server . . &",
    "rsync --server . . # comment",
    "rsync --server . .\ntouch x",
    "rsync --server . .\rtouch x",
    "rsync --server . \x00x",
    "rsync 'unclosed",
    'rsync "unclosed',
    "rsync trailing\\",
    "",
    "   ",
    "x".repeat(MAX_COMMAND_LENGTH + 1),
  ];
  for (const command of refused) {
    assert.throws(() => splitCommand(command), CommandRefusedError, JSON.stringify(command));
  }
});

Deno.test("splitCommand says what it refused and what the agent runs", () => {
  assert.throws(
    () => splitCommand("rsync --server . . ; id"),
    { message: 'Cannot run the command: shell syntax ";" (the agent runs only "rsync --server")' },
  );
});
