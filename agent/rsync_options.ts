/**
 * The rsync server options the agent lets through, as one table. Anything not listed is refused, and the
 * options that are known to be dangerous carry the reason, so a refusal says why.
 *
 * The list was taken from what rsync 3.2 clients send to a server (`rsync -a -H --delete --numeric-ids
 * --partial --stats -z --bwlimit ...` and friends, observed with a fake remote shell) and checked against
 * rsync's own `rrsync` restrictions. Allowed options only change how files inside the transfer paths are
 * compared, copied and reported.
 */
import { z } from "zod";

/** What the agent does with one option. */
export type RsyncOptionRule =
  /** Allowed, takes no value. */
  | { readonly kind: "flag" }
  /** Allowed with a value the schema accepts (`--opt=VALUE` or `--opt VALUE`). */
  | { readonly kind: "value"; readonly value: z.ZodType<string> }
  /** Refused, with the reason shown to the client. */
  | { readonly kind: "refused"; readonly reason: string };

const RUNS_PROGRAM = "it runs another program";
const OTHER_PATH = "it reads or writes a path outside the checked transfer paths";
const FOLLOWS_LINKS = "it follows symlinks, which can lead out of the volume";
const DEVICE_DATA = "it reads or writes the contents of device files";
const IN_PLACE = "it writes into existing files instead of replacing them";
const SOURCE_DELETE = "it deletes files on the sending side";
const HIDDEN_ARGS = "it passes arguments around the agent's checks";
const NOT_A_TRANSFER = "it is not an option of an rsync server transfer";
const REWRITES_FILES = "it changes the owners, modes or names of the copied files";

const flag: RsyncOptionRule = { kind: "flag" };
const value = (schema: z.ZodType<string>): RsyncOptionRule => ({ kind: "value", value: schema });
const refused = (reason: string): RsyncOptionRule => ({ kind: "refused", reason });

const integer = z.string().regex(/^-?\d{1,12}$/, "Expected a whole number");
const size = z.string().regex(/^\d{1,15}(\.\d{1,6})?([bkmgtpBKMGTP][bB]?)?([+-]1)?$/, "Expected a size");
const names = z.string().regex(/^[A-Za-z0-9,._+-]{1,128}$/, "Expected a list of names");

/** Single-letter options, bundled (`-logDtpr`). `e`, `B` and `@` are handled by the parser (they take the rest). */
const SHORT = new Map<string, RsyncOptionRule>([
  ...[..."vqnlHogDtUNpEAXrdcIRxSzumOJyWCi8hab"].map((c): [string, RsyncOptionRule] => [c, flag]),
  ["L", refused(FOLLOWS_LINKS)],
  ["k", refused(FOLLOWS_LINKS)],
  ["K", refused(FOLLOWS_LINKS)],
  ["T", refused(OTHER_PATH)],
  ["f", refused(OTHER_PATH)],
  ["F", refused(OTHER_PATH)],
  ["0", refused(OTHER_PATH)],
  ["s", refused(HIDDEN_ARGS)],
  ["M", refused(HIDDEN_ARGS)],
]);

/** Long options by name (without `--`). `server` and `sender` are handled by the parser. */
const LONG = new Map<string, RsyncOptionRule>([
  ...[
    "acls",
    "archive",
    "atimes",
    "backup",
    "checksum",
    "crtimes",
    "delay-updates",
    "delete",
    "delete-after",
    "delete-before",
    "delete-delay",
    "delete-during",
    "delete-excluded",
    "delete-missing-args",
    "devices",
    "dirs",
    "dry-run",
    "executability",
    "existing",
    "force",
    "fsync",
    "fuzzy",
    "group",
    "hard-links",
    "i-r",
    "ignore-errors",
    "ignore-existing",
    "ignore-missing-args",
    "ignore-times",
    "inc-recursive",
    "links",
    "list-only",
    "mkpath",
    "msgs2stderr",
    "munge-links",
    "new-compress",
    "no-W",
    "no-devices",
    "no-i-r",
    "no-implied-dirs",
    "no-inc-recursive",
    "no-msgs2stderr",
    "no-relative",
    "no-specials",
    "no-whole-file",
    "numeric-ids",
    "old-compress",
    "omit-dir-times",
    "omit-link-times",
    "one-file-system",
    "open-noatime",
    "owner",
    "partial",
    "perms",
    "preallocate",
    "prune-empty-dirs",
    "quiet",
    "recursive",
    "relative",
    "safe-links",
    "size-only",
    "sparse",
    "specials",
    "stats",
    "times",
    "update",
    "verbose",
    "whole-file",
    "xattrs",
    "compress",
  ].map((name): [string, RsyncOptionRule] => [name, flag]),
  ["block-size", value(integer)],
  ["bwlimit", value(size)],
  ["checksum-seed", value(integer)],
  ["compress-level", value(integer)],
  ["max-alloc", value(size)],
  ["max-delete", value(integer)],
  ["max-size", value(size)],
  ["min-size", value(size)],
  ["modify-window", value(integer)],
  ["timeout", value(integer)],
  ["checksum-choice", value(names)],
  ["cc", value(names)],
  ["compress-choice", value(names)],
  ["zc", value(names)],
  ["skip-compress", value(z.string().regex(/^[A-Za-z0-9/._-]{0,512}$/, "Expected suffixes separated by /"))],
  ["info", value(z.string().regex(/^[A-Za-z0-9,]{1,256}$/, "Expected output flags"))],
  ["debug", value(z.string().regex(/^[A-Za-z0-9,]{1,256}$/, "Expected output flags"))],
  ["log-format", value(z.string().regex(/^[%A-Za-z0-9 .:,'_-]{1,128}$/, "Expected an output format"))],
  ["out-format", value(z.string().regex(/^[%A-Za-z0-9 .:,'_-]{1,128}$/, "Expected an output format"))],
  ["stderr", value(z.enum(["errors", "all", "client"]))],
  ["suffix", value(z.string().regex(/^[A-Za-z0-9._~+-]{1,32}$/, "Expected a file name suffix without '/'"))],
  ["rsh", refused(RUNS_PROGRAM)],
  ["rsync-path", refused(RUNS_PROGRAM)],
  ["connect-program", refused(RUNS_PROGRAM)],
  ["temp-dir", refused(OTHER_PATH)],
  ["partial-dir", refused(OTHER_PATH)],
  ["backup-dir", refused(OTHER_PATH)],
  ["log-file", refused(OTHER_PATH)],
  ["log-file-format", refused(OTHER_PATH)],
  ["write-batch", refused(OTHER_PATH)],
  ["only-write-batch", refused(OTHER_PATH)],
  ["read-batch", refused(OTHER_PATH)],
  ["files-from", refused(OTHER_PATH)],
  ["from0", refused(OTHER_PATH)],
  ["include-from", refused(OTHER_PATH)],
  ["exclude-from", refused(OTHER_PATH)],
  ["filter", refused(OTHER_PATH)],
  ["include", refused(OTHER_PATH)],
  ["exclude", refused(OTHER_PATH)],
  ["compare-dest", refused(OTHER_PATH)],
  ["copy-dest", refused(OTHER_PATH)],
  ["link-dest", refused(OTHER_PATH)],
  ["password-file", refused(OTHER_PATH)],
  ["early-input", refused(OTHER_PATH)],
  ["config", refused(OTHER_PATH)],
  ["copy-links", refused(FOLLOWS_LINKS)],
  ["copy-dirlinks", refused(FOLLOWS_LINKS)],
  ["copy-unsafe-links", refused(FOLLOWS_LINKS)],
  ["keep-dirlinks", refused(FOLLOWS_LINKS)],
  ["copy-devices", refused(DEVICE_DATA)],
  ["write-devices", refused(DEVICE_DATA)],
  ["inplace", refused(IN_PLACE)],
  ["append", refused(IN_PLACE)],
  ["append-verify", refused(IN_PLACE)],
  ["remove-source-files", refused(SOURCE_DELETE)],
  ["remove-sent-files", refused(SOURCE_DELETE)],
  ["protect-args", refused(HIDDEN_ARGS)],
  ["secluded-args", refused(HIDDEN_ARGS)],
  ["remote-option", refused(HIDDEN_ARGS)],
  ["daemon", refused(NOT_A_TRANSFER)],
  ["dparam", refused(NOT_A_TRANSFER)],
  ["address", refused(NOT_A_TRANSFER)],
  ["port", refused(NOT_A_TRANSFER)],
  ["sockopts", refused(NOT_A_TRANSFER)],
  ["no-detach", refused(NOT_A_TRANSFER)],
  ["detach", refused(NOT_A_TRANSFER)],
  ["iconv", refused(REWRITES_FILES)],
  ["usermap", refused(REWRITES_FILES)],
  ["groupmap", refused(REWRITES_FILES)],
  ["chown", refused(REWRITES_FILES)],
  ["chmod", refused(REWRITES_FILES)],
  ["super", refused(REWRITES_FILES)],
  ["fake-super", refused(REWRITES_FILES)],
  ["copy-as", refused(REWRITES_FILES)],
]);

/** The table: single-letter options by letter, long options by name (without `--`). */
export const RSYNC_OPTIONS: {
  readonly short: ReadonlyMap<string, RsyncOptionRule>;
  readonly long: ReadonlyMap<string, RsyncOptionRule>;
} = { short: SHORT, long: LONG };
