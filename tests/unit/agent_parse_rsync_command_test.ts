import assert from "node:assert/strict";
import { CommandRefusedError, parseRsyncCommand, rsyncServerArgs, splitCommand } from "../../agent/mod.ts";

const parse = (command: string) => parseRsyncCommand(splitCommand(command));

function assertRefused(command: string, message: RegExp): void {
  assert.throws(() => parse(command), (error: unknown) => {
    assert.ok(error instanceof CommandRefusedError, `${command}: ${error}`);
    assert.match(error.message, message, command);
    return true;
  });
}

Deno.test("parseRsyncCommand accepts what rsync clients send for a push", () => {
  assert.deepEqual(
    parse("rsync --server -lHogDtpre.iLsfxCIvu --delete --stats --partial --numeric-ids . dest"),
    {
      mode: "receiver",
      options: ["-lHogDtpre.iLsfxCIvu", "--delete", "--stats", "--partial", "--numeric-ids"],
      paths: ["dest"],
    },
  );
});

Deno.test("parseRsyncCommand accepts what rsync clients send for a pull", () => {
  assert.deepEqual(parse("rsync --server --sender -vlHogDtpAXrSe.iLsfxCIvu . x y/"), {
    mode: "sender",
    options: ["-vlHogDtpAXrSe.iLsfxCIvu"],
    paths: ["x", "y/"],
  });
});

Deno.test("parseRsyncCommand accepts the options rsync 3.2 clients send for the usual flags", () => {
  const accepted = [
    "rsync --server -lWogDtpre.iLsfxCIvu . d",
    "rsync --server -logDtpre.iLsfxCIvu --compress-level=3 --checksum-choice=md5 --compress-choice=zstd . d",
    "rsync --server -logDtpre.iLsfxCIvu --max-delete=5 --delete-after --delete-excluded --mkpath . d",
    "rsync --server --sender -logDtpre.LsfxCIvu --ignore-missing-args . d/",
    "rsync --server -logDtpre.iLsfxCIvu --size-only --modify-window=2 . d",
    "rsync --server -logDtprSe.iLsfxCIvu --fsync --preallocate --open-noatime . d",
    "rsync --server -ulmyogDtprRxe.iLsfxCIvu --no-implied-dirs . d",
    "rsync --server -logDtprIe.iLsfxCIvu -B2048 --checksum-seed=7 --ignore-existing --existing . d",
    "rsync --server -qlogDtpre.iLsfxCIvu --log-format=%i --msgs2stderr . d",
    "rsync --server -lOJogDtUprCe.iLsfxCIvu --log-format=X --force --stats --numeric-ids . d",
    "rsync --server -logDtpre.iLsfxCIvu --timeout=3 --bwlimit=5120 --min-size=1 --max-size=1048576 . d",
    "rsync --server --sender -logDtpre.iLsfxCIvu --skip-compress=gz/jpg . d",
    "rsync --server -lHHogDtpAXXre.iLsfxCIvu . d",
    "rsync --server -nvvvlogDtprce.iLsfxCIvu --info=STATS2 . d",
    "rsync --server -logDtpre.iLsfxCIvu --delete-during --delete-missing-args --ignore-errors . d",
    "rsync --server -blogDtpre.iLsfxCIvu --suffix=.bak . d",
    "rsync --server -logDtpre.iLsfxCIvu --delay-updates --safe-links . d",
    "rsync --server -logDtpre.iLsfxCIvu --bwlimit 100 . d",
  ];
  for (const command of accepted) assert.doesNotThrow(() => parse(command), command);
});

Deno.test("parseRsyncCommand keeps long option values in one word", () => {
  assert.deepEqual(parse("rsync --server --bwlimit 100 --timeout=5 . d").options, [
    "--bwlimit=100",
    "--timeout=5",
  ]);
});

Deno.test("parseRsyncCommand refuses any program but rsync, and rsync not as a server", () => {
  assertRefused("ls -la", /Cannot run "ls"/);
  assertRefused("sh -c id", /Cannot run "sh"/);
  assertRefused("/usr/bin/rsync --server . .", /Cannot run "\/usr\/bin\/rsync"/);
  assertRefused("rsync", /only "rsync --server"/);
  assertRefused("rsync --version", /only "rsync --server"/);
  assertRefused("rsync --daemon --server .", /only "rsync --server"/);
  assertRefused("rsync -av src dest", /only "rsync --server"/);
  assert.throws(() => parseRsyncCommand([]), CommandRefusedError);
});

Deno.test("parseRsyncCommand refuses -e with a program and --rsh/--rsync-path", () => {
  assertRefused("rsync --server -e sh . .", /Option "-e" is not allowed: it runs another program/);
  assertRefused("rsync --server -esh . .", /Option "-e" is not allowed/);
  assertRefused("rsync --server -logDtpresh . .", /Option "-e" is not allowed/);
  assertRefused("rsync --server -e.iLs/x . .", /Option "-e" is not allowed/);
  assertRefused("rsync --server --rsh=ssh . .", /Option "--rsh" is not allowed: it runs another program/);
  assertRefused("rsync --server --rsync-path=/bin/sh . .", /"--rsync-path" is not allowed/);
  assertRefused("rsync --server --rsync-path /bin/sh . .", /"--rsync-path" is not allowed/);
});

Deno.test("parseRsyncCommand refuses options that read or write outside the transfer paths", () => {
  for (
    const option of [
      "--temp-dir=/tmp",
      "--temp-dir /tmp",
      "--partial-dir=/..",
      "--partial-dir=.rsync-partial",
      "--backup-dir=/b",
      "--log-file=/tmp/x",
      "--log-file-format=%i",
      "--write-batch=/tmp/b",
      "--only-write-batch=/tmp/b",
      "--read-batch=/tmp/b",
      "--files-from=/etc/passwd",
      "--from0",
      "--include-from=/etc/x",
      "--exclude-from=/etc/x",
      "--filter=merge_/etc/x",
      "--compare-dest=/etc",
      "--copy-dest=/etc",
      "--link-dest=/etc",
      "--password-file=/etc/shadow",
      "--config=/etc/rsyncd.conf",
    ]
  ) {
    const name = option.split(/[= ]/)[0]!;
    assertRefused(`rsync --server -logDtpre.iLsfxCIvu ${option} . .`, new RegExp(`"${name}" is not allowed`));
  }
  assertRefused("rsync --server -T/tmp . .", /Option "-T" is not allowed: it reads or writes a path outside/);
  assertRefused("rsync --server -logDtpT/tmp . .", /Option "-T" is not allowed/);
  assertRefused("rsync --server -f+_x . .", /Option "-f" is not allowed/);
  assertRefused("rsync --server -0 . .", /Option "-0" is not allowed/);
});

Deno.test("parseRsyncCommand refuses options that follow symlinks, touch devices, write in place or delete sources", () => {
  assertRefused(
    "rsync --server --sender -lLogDtpre.iLsfxCIvu . .",
    /"-L" is not allowed: it follows symlinks/,
  );
  assertRefused(
    "rsync --server --sender -lkogDtpre.iLsfxCIvu . .",
    /"-k" is not allowed: it follows symlinks/,
  );
  assertRefused("rsync --server -lKogDtpre.iLsfxCIvu . .", /"-K" is not allowed: it follows symlinks/);
  assertRefused("rsync --server --sender --copy-unsafe-links . .", /"--copy-unsafe-links" is not allowed/);
  assertRefused("rsync --server --keep-dirlinks . .", /"--keep-dirlinks" is not allowed/);
  assertRefused("rsync --server --copy-devices --sender . .", /device files/);
  assertRefused("rsync --server --write-devices . .", /device files/);
  assertRefused("rsync --server --inplace . .", /instead of replacing them/);
  assertRefused("rsync --server --append . .", /instead of replacing them/);
  assertRefused("rsync --server --sender --remove-source-files . .", /deletes files on the sending side/);
  assertRefused("rsync --server --sender --remove-sent-files . .", /deletes files on the sending side/);
});

Deno.test("parseRsyncCommand refuses arguments that would bypass its checks", () => {
  assertRefused("rsync --server -slogDtpre.iLsfxCIvu .", /"-s" is not allowed: it passes arguments around/);
  assertRefused("rsync --server --protect-args . .", /"--protect-args" is not allowed/);
  assertRefused("rsync --server -M--log-file=/x . .", /"-M" is not allowed/);
  assertRefused("rsync --server -- . .", /Argument "--" is not allowed/);
  assertRefused("rsync --server extra . .", /Unexpected argument "extra"/);
  assertRefused("rsync --server . . --log-file=/x", /starts with "-"/);
  assertRefused("rsync --server . -x", /starts with "-"/);
  assertRefused("rsync --server --sender=1 . .", /takes no value/);
  assertRefused("rsync --server --delete=1 . .", /takes no value/);
  assertRefused("rsync --server --timeout . d", /"--timeout" has a value the agent does not accept: "\."/);
  assertRefused("rsync --server --timeout", /needs a value/);
});

Deno.test("parseRsyncCommand refuses values an option does not take", () => {
  assertRefused("rsync --server '--bwlimit=1;id' . .", /"--bwlimit" has a value the agent does not accept/);
  assertRefused("rsync --server --timeout=abc . .", /Expected a whole number/);
  assertRefused("rsync --server --suffix=/x . .", /without '\/'/);
  assertRefused("rsync --server --stderr=file . .", /"--stderr" has a value/);
  assertRefused("rsync --server --log-format=%i/../x . .", /"--log-format" has a value/);
  assertRefused("rsync --server -Bx . .", /"-B" needs a whole number/);
});

Deno.test("parseRsyncCommand refuses unknown options and the rest of the rsync options it does not need", () => {
  for (
    const option of [
      "--usermap=*:1",
      "--groupmap=*:1",
      "--chmod=u+s",
      "--iconv=utf8",
      "--super",
      "--fake-super",
    ]
  ) {
    assertRefused(`rsync --server ${option} . .`, /is not allowed/);
  }
  assertRefused("rsync --server --no-such-option . .", /Option "--no-such-option" is not allowed$/);
  assertRefused("rsync --server -Z . .", /Option "-Z" is not allowed$/);
  assertRefused("rsync --server --daemon . .", /it is not an option of an rsync server transfer/);
});

Deno.test("parseRsyncCommand refuses paths that are empty, go up, start with - or ~, or contain globs", () => {
  assertRefused("rsync --server -logDtpre.iLsfxCIvu . ..", /contains "\.\."/);
  assertRefused("rsync --server -logDtpre.iLsfxCIvu . ../x", /contains "\.\."/);
  assertRefused("rsync --server -logDtpre.iLsfxCIvu . a/../../x", /contains "\.\."/);
  assertRefused("rsync --server --sender -logDtpre.iLsfxCIvu . ok /abs/../x", /contains "\.\."/);
  assertRefused("rsync --server -logDtpre.iLsfxCIvu . ''", /Transfer path is empty/);
  assertRefused("rsync --server -logDtpre.iLsfxCIvu . ~/x", /starts with "~"/);
  assertRefused("rsync --server --sender -logDtpre.iLsfxCIvu . 'esc*/'", /glob character/);
  assertRefused("rsync --server --sender -logDtpre.iLsfxCIvu . 'a?'", /glob character/);
  assertRefused("rsync --server --sender -logDtpre.iLsfxCIvu . '[a]'", /glob character/);
  assertRefused("rsync --server -logDtpre.iLsfxCIvu .", /names no transfer path/);
  assertRefused("rsync --server -logDtpre.iLsfxCIvu", /no transfer paths/);
  assertRefused("rsync --server -logDtpre.iLsfxCIvu . a b", /one destination path, got 2/);
  assert.deepEqual(parse("rsync --server . a..b/.hidden/..x").paths, ["a..b/.hidden/..x"]);
});

Deno.test("rsyncServerArgs rebuilds the command with the resolved paths", () => {
  const command = parse("rsync --server --sender -logDtpre.iLsfxCIvu --bwlimit 10 . /abs/vol/x");
  assert.deepEqual(rsyncServerArgs(command, ["x"]), [
    "--server",
    "--sender",
    "-logDtpre.iLsfxCIvu",
    "--bwlimit=10",
    ".",
    "x",
  ]);
  assert.deepEqual(rsyncServerArgs(parse("rsync --server . d"), ["d"]), ["--server", ".", "d"]);
});
