import assert from "node:assert/strict";
import { utils } from "ssh2";
import { generateEd25519KeyPair } from "../../shared/pvc/ed25519_key.ts";
import { AuthorizedKeysError, keyFingerprint, keysMatching, parseAuthorizedKeys } from "../../agent/mod.ts";

const alice = generateEd25519KeyPair("alice");
const bob = generateEd25519KeyPair("bob");

function entry(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: "shop/data",
    publicKey: alice.public,
    volume: { podUid: "5f0c5e1e-1111-2222-3333-444455556666", volumeName: "pvc-4b7a" },
    mode: "receiver",
    expiresAt: "2026-11-30T17:00:00Z",
    ...overrides,
  };
}

const file = (...keys: unknown[]) => JSON.stringify({ keys });

function blobOf(publicKey: string): Uint8Array {
  const parsed = utils.parseKey(publicKey);
  assert.ok(!(parsed instanceof Error) && !Array.isArray(parsed));
  return parsed.getPublicSSH();
}

Deno.test("parseAuthorizedKeys reads per-transfer keys with their volume, mode and expiry", () => {
  const parsed = parseAuthorizedKeys(
    file(
      entry(),
      entry({ volume: { path: "pods/abc/volumes/kubernetes.io~local-volume/pv-cache" }, mode: "sender" }),
    ),
    "keys.json",
  );
  assert.deepEqual(parsed.problems, []);
  assert.equal(parsed.keys.length, 2);
  const [first, second] = parsed.keys;
  assert.equal(first!.name, "shop/data");
  assert.equal(first!.origin, "keys.json");
  assert.equal(first!.mode, "receiver");
  assert.deepEqual(first!.volume, { podUid: "5f0c5e1e-1111-2222-3333-444455556666", volumeName: "pvc-4b7a" });
  assert.equal(first!.expiresAt.toISOString(), "2026-11-30T17:00:00.000Z");
  assert.match(first!.fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
  assert.deepEqual(second!.volume, { path: "pods/abc/volumes/kubernetes.io~local-volume/pv-cache" });
  assert.equal(second!.mode, "sender");
});

Deno.test("parseAuthorizedKeys names an unnamed entry by its position", () => {
  const { name: _, ...unnamed } = entry();
  assert.equal(parseAuthorizedKeys(file(unnamed), "f").keys[0]!.name, "keys[0]");
});

Deno.test("parseAuthorizedKeys leaves out bad entries and names the bad field", () => {
  const parsed = parseAuthorizedKeys(
    file(
      entry({ mode: "both" }),
      entry({ expiresAt: "tomorrow" }),
      entry({ expiresAt: "2026-11-30T17:00:00" }),
      entry({ volume: { path: "/etc" } }),
      entry({ volume: { path: "pods/abc/volumes/kubernetes.io~csi/../../../../etc" } }),
      entry({ volume: { podUid: "../x", volumeName: "v" } }),
      entry({ volume: { podUid: "abc", volumeName: ".." } }),
      entry({ volume: { podUid: "abc" } }),
      entry({ publicKey: "ssh-ed25519 not-base64" }),
      entry({ publicKey: alice.private }),
      entry({ extra: 1 }),
      "a string",
      entry({ publicKey: bob.public }),
    ),
    "keys.json",
  );
  assert.equal(parsed.keys.length, 1);
  assert.equal(parsed.keys[0]!.key.comment, "bob");
  for (
    const expected of [
      "keys[0].mode",
      "keys[1].expiresAt",
      "keys[2].expiresAt",
      "keys[3].volume",
      "keys[4].volume",
      "keys[5].volume",
      "keys[6].volume",
      "keys[7].volume",
      "keys[8].publicKey",
      "keys[9].publicKey",
      "keys[10]",
      "keys[11]",
    ]
  ) {
    assert.ok(
      parsed.problems.some((problem) => problem.startsWith(expected)),
      `no problem for ${expected}: ${parsed.problems.join(" | ")}`,
    );
  }
});

Deno.test("parseAuthorizedKeys refuses a file that is not JSON or not {keys: [...]}", () => {
  assert.throws(() => parseAuthorizedKeys("{", "a.json"), AuthorizedKeysError);
  assert.throws(() => parseAuthorizedKeys("[]", "a.json"), /Cannot read authorized keys "a.json"/);
  assert.throws(() => parseAuthorizedKeys('{"keys": {}}', "a.json"), /keys: /);
  assert.throws(() => parseAuthorizedKeys('{"keys": [], "more": 1}', "a.json"), AuthorizedKeysError);
});

Deno.test("parseAuthorizedKeys says which volume forms it takes", () => {
  const parsed = parseAuthorizedKeys(file(entry({ volume: { podUid: "abc" } })), "f");
  assert.deepEqual(parsed.problems, [
    'keys[0].volume: Expected {"podUid": ..., "volumeName": ...} or {"path": ...}',
  ]);
});

Deno.test("keysMatching finds the entries of the key a client offers, and only those", () => {
  const { keys } = parseAuthorizedKeys(
    file(
      entry({ name: "a1" }),
      entry({ name: "b", publicKey: bob.public }),
      entry({ name: "a2", mode: "sender" }),
    ),
    "f",
  );
  assert.deepEqual(keysMatching(keys, blobOf(alice.public)).map((k) => k.name), ["a1", "a2"]);
  assert.deepEqual(keysMatching(keys, blobOf(bob.public)).map((k) => k.name), ["b"]);
  const other = generateEd25519KeyPair();
  assert.deepEqual(keysMatching(keys, blobOf(other.public)), []);
  assert.deepEqual(keysMatching(keys, new Uint8Array(0)), []);
});

Deno.test("keyFingerprint is OpenSSH's SHA256 fingerprint", () => {
  assert.equal(
    keyFingerprint(new TextEncoder().encode("abc")),
    "SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0",
  );
});

Deno.test("parseAuthorizedKeys accepts only a PersistentVolume's folder as a path (no emptyDir, Secret...)", () => {
  const paths = {
    "pods/abc/volumes/kubernetes.io~csi/pv-1/mount": true,
    "pods/abc/volumes/kubernetes.io~local-volume/pv-1": true,
    "pods/abc/volumes/kubernetes.io~nfs/pv-1": true,
    "pods/abc/volumes/kubernetes.io~iscsi/pv-1": true,
    "pods/abc/volumes/kubernetes.io~fc/pv-1": true,
    "pods/abc/volumes/kubernetes.io~csi/pv-1": false,
    "pods/abc/volumes/kubernetes.io~nfs/pv-1/mount": false,
    "pods/abc/volumes/kubernetes.io~empty-dir/pv-1": false,
    "pods/abc/volumes/kubernetes.io~secret/pv-1": false,
    "pods/abc/volumes/kubernetes.io~projected/kube-api-access-x": false,
    "pods/abc/volumes/kubernetes.io~configmap/pv-1": false,
    "pods/abc/volumes/kubernetes.io~host-path/pv-1": false,
  };
  for (const [path, accepted] of Object.entries(paths)) {
    const parsed = parseAuthorizedKeys(file(entry({ volume: { path } })), "f");
    assert.equal(parsed.keys.length, accepted ? 1 : 0, path);
    if (!accepted) assert.match(parsed.problems[0] ?? "", /keys\[0\]\.volume.*PersistentVolume/, path);
  }
});
