import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { utils } from "ssh2";
import { generateEd25519KeyPair } from "../../shared/pvc/ed25519_key.ts";

/** The key's parsed private and public halves, both checked to be keys. */
function parsed(pair: { private: string; public: string }) {
  const privateKey = utils.parseKey(pair.private);
  const publicKey = utils.parseKey(pair.public);
  assert.ok(!(privateKey instanceof Error) && !Array.isArray(privateKey), String(privateKey));
  assert.ok(!(publicKey instanceof Error) && !Array.isArray(publicKey), String(publicKey));
  return { privateKey, publicKey };
}

Deno.test("generateEd25519KeyPair: keys whose public key starts with a zero byte are whole (ssh2's own generator cuts that byte off)", () => {
  let zeroLed = 0;
  for (let i = 0; i < 4000 && zeroLed < 3; i++) {
    const pair = generateEd25519KeyPair("test");
    const { privateKey, publicKey } = parsed(pair);
    const blob = publicKey.getPublicSSH();
    assert.equal(blob.length, 4 + 11 + 4 + 32);
    assert.deepEqual(privateKey.getPublicSSH(), blob);
    if (blob[19] !== 0) continue;
    zeroLed++;
    const data = Buffer.from("signed by a key that starts with 0x00");
    assert.ok(publicKey.verify(data, privateKey.sign(data)), "it signs and verifies");
  }
  assert.ok(zeroLed > 0, "4,000 keys had one starting with 0x00 (1 in 256)");
});

Deno.test("generateEd25519KeyPair: OpenSSH reads the private key and derives the same public key line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ed25519-" });
  try {
    const pair = generateEd25519KeyPair("dr-syncer@test");
    await Deno.writeTextFile(`${dir}/key`, pair.private, { mode: 0o600 });
    const output = await new Deno.Command("ssh-keygen", { args: ["-y", "-f", `${dir}/key`] }).output();
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    assert.equal(new TextDecoder().decode(output.stdout).trim(), pair.public);
    assert.match(pair.public, /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]+=* dr-syncer@test$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
