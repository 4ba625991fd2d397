/**
 * The authorized-keys format of the agent: one JSON document with a list of per-transfer keys, each allowed
 * to do one thing (send or receive) on one volume until it expires.
 *
 * ```json
 * {
 *   "keys": [
 *     {
 *       "name": "shop/data 2026-11-30T16:00Z",
 *       "publicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA... pvc-sync",
 *       "volume": { "podUid": "5f0c5e1e-...", "volumeName": "pvc-4b7a..." },
 *       "mode": "receiver",
 *       "expiresAt": "2026-11-30T17:00:00Z"
 *     }
 *   ]
 * }
 * ```
 *
 * `volume` is either `{ podUid, volumeName }` (the agent finds `pods/<uid>/volumes/<plugin>/<pv>` under its
 * root, `<pv>/mount` for CSI volumes, for the plugins of PersistentVolumes only: `volume_plugins.ts`) or
 * `{ path }`, such a folder relative to the root (`pods/<uid>/volumes/kubernetes.io~csi/<pv>/mount`). Pure:
 * parsing does not touch the file system.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { type ParsedKey, utils } from "ssh2";
import { z } from "zod";
import { AuthorizedKeysError } from "./agent_errors.ts";
import type { TransferMode } from "./parse_rsync_command.ts";
import { CSI_PLUGIN, PERSISTENT_VOLUME_PLUGINS } from "./volume_plugins.ts";

const POD_UID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const VOLUME_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;
const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
/** `pods/<uid>/volumes/<persistent-volume plugin>/<pv>`, with `/mount` for CSI and only for CSI. */
const VOLUME_PATH = new RegExp(
  `^pods/[A-Za-z0-9][A-Za-z0-9_-]{0,63}/volumes/(?:${escapeRegExp(CSI_PLUGIN)}/${
    VOLUME_NAME.source.slice(1, -1)
  }/mount|(?:${PERSISTENT_VOLUME_PLUGINS.filter((p) => p !== CSI_PLUGIN).map(escapeRegExp).join("|")})/${
    VOLUME_NAME.source.slice(1, -1)
  })$`,
);

const volumeSchema = z.union([
  z.strictObject({
    podUid: z.string().regex(POD_UID, "Expected a pod UID"),
    volumeName: z.string().regex(
      VOLUME_NAME,
      "Expected a volume name (a PersistentVolume's name for CSI volumes)",
    ),
  }),
  z.strictObject({
    path: z.string().regex(
      VOLUME_PATH,
      "Expected a PersistentVolume's folder relative to the kubelet root: \"pods/<pod-uid>/volumes/" +
        `<plugin>/<pv>" with a plugin of ${PERSISTENT_VOLUME_PLUGINS.join(", ")} ("/mount" after a CSI one)`,
    ),
  }),
], { error: 'Expected {"podUid": ..., "volumeName": ...} or {"path": ...}' });

const entrySchema = z.strictObject({
  name: z.string().min(1).max(253).optional(),
  publicKey: z.string().min(1).max(16384),
  volume: volumeSchema,
  mode: z.enum(["sender", "receiver"]),
  expiresAt: z.iso.datetime({ offset: true }),
});

const fileSchema = z.strictObject({ keys: z.array(z.unknown()) });

/** Where a key may send or receive: a pod's volume by name, or a volume folder's path under the root. */
export type VolumeRef =
  | { readonly podUid: string; readonly volumeName: string }
  | { readonly path: string };

/** One usable entry of the file. */
export interface AuthorizedKey {
  /** The entry's `name`, else its position (`keys[3]`), for logs. */
  readonly name: string;
  /** Where the entry came from (the file name). */
  readonly origin: string;
  /** OpenSSH's `SHA256:...` fingerprint of the public key. */
  readonly fingerprint: string;
  readonly key: ParsedKey;
  readonly volume: VolumeRef;
  readonly mode: TransferMode;
  readonly expiresAt: Date;
}

/** The usable entries of one file, and one line per entry that was left out (with the path of the field). */
export interface AuthorizedKeys {
  readonly keys: readonly AuthorizedKey[];
  readonly problems: readonly string[];
}

/** `.volume.podUid`, `[2]`: the path of a field below a known prefix. */
function formatPath(path: readonly PropertyKey[]): string {
  return path.map((p) => typeof p === "number" ? `[${p}]` : `.${String(p)}`).join("");
}

/** OpenSSH's fingerprint of a public key blob: `SHA256:` and unpadded base64. */
export function keyFingerprint(blob: Uint8Array): string {
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

function parsePublicKey(text: string): ParsedKey | undefined {
  const parsed = utils.parseKey(text);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (key === undefined || key instanceof Error || key.isPrivateKey()) return undefined;
  return key;
}

/**
 * Parses the text of an authorized-keys file. A file that is not JSON or not `{ "keys": [...] }` throws
 * `AuthorizedKeysError`; a bad entry is left out and named in `problems`, so one bad entry does not stop
 * the other transfers on the node.
 */
export function parseAuthorizedKeys(text: string, origin: string): AuthorizedKeys {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new AuthorizedKeysError(`Cannot read authorized keys ${JSON.stringify(origin)}: not JSON`, {
      cause: error,
    });
  }
  const file = fileSchema.safeParse(json);
  if (!file.success) {
    const issue = file.error.issues[0];
    const where = issue === undefined || issue.path.length === 0
      ? ""
      : `${formatPath(issue.path).slice(1)}: `;
    throw new AuthorizedKeysError(
      `Cannot read authorized keys ${JSON.stringify(origin)}: ${where}${issue?.message ?? "invalid"}` +
        ' (expected {"keys": [...]})',
    );
  }
  const keys: AuthorizedKey[] = [];
  const problems: string[] = [];
  file.data.keys.forEach((raw, index) => {
    const entry = entrySchema.safeParse(raw);
    if (!entry.success) {
      for (const issue of entry.error.issues) {
        problems.push(`keys[${index}]${formatPath(issue.path)}: ${issue.message}`);
      }
      return;
    }
    const key = parsePublicKey(entry.data.publicKey);
    if (key === undefined) {
      problems.push(`keys[${index}].publicKey: Expected an SSH public key ("ssh-ed25519 AAAA...")`);
      return;
    }
    keys.push({
      name: entry.data.name ?? `keys[${index}]`,
      origin,
      fingerprint: keyFingerprint(key.getPublicSSH()),
      key,
      volume: entry.data.volume,
      mode: entry.data.mode,
      expiresAt: new Date(entry.data.expiresAt),
    });
  });
  return { keys, problems };
}

/** The entries whose public key is `blob` (the SSH wire form of the key a client offers), expired or not. */
export function keysMatching(keys: readonly AuthorizedKey[], blob: Uint8Array): AuthorizedKey[] {
  return keys.filter((entry) => {
    const own = entry.key.getPublicSSH();
    return own.length === blob.length && timingSafeEqual(own, blob);
  });
}
