/**
 * New ed25519 key pairs in OpenSSH's formats (a private key file, a public key line), made with
 * `node:crypto` and laid out here. ssh2's `utils.generateKeyPairSync("ed25519")` is not used: it strips
 * every leading zero byte of the public key's DER bit string, the key's own first byte included, so about
 * one key in 256 comes out with a 31-byte public key that nothing can parse ("Malformed OpenSSH private
 * key"): a failed transfer, or an agent host key that never works.
 *
 * The private key file (OpenSSH's PROTOCOL.key, unencrypted): "openssh-key-v1\0", cipher "none", KDF
 * "none", no KDF options, one key, its public blob, then the private section (two equal check words, the
 * key type, the 32-byte public key, the 64-byte seed plus public key, the comment) padded 1, 2, 3... to a
 * multiple of 8.
 */
import { Buffer } from "node:buffer";
import { generateKeyPairSync, randomBytes } from "node:crypto";

const KEY_TYPE = "ssh-ed25519";

/** SSH's `string`: a 32-bit length, then the bytes. */
function sshString(value: Uint8Array | string): Buffer {
  const bytes = typeof value === "string" ? Buffer.from(value) : Buffer.from(value);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

function uint32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value);
  return out;
}

/** A new ed25519 key pair: `private` is an OpenSSH private key file, `public` a public key line. */
export function generateEd25519KeyPair(comment = ""): { readonly private: string; readonly public: string } {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const jwk = privateKey.export({ format: "jwk" });
  const publicJwk = publicKey.export({ format: "jwk" });
  const seed = Buffer.from(jwk.d!, "base64url");
  const pub = Buffer.from(publicJwk.x!, "base64url");
  if (seed.length !== 32 || pub.length !== 32) {
    throw new Error(`ed25519 key of unexpected size (seed ${seed.length}, public ${pub.length} bytes)`);
  }
  const blob = Buffer.concat([sshString(KEY_TYPE), sshString(pub)]);
  const check = randomBytes(4);
  let section = Buffer.concat([
    check,
    check,
    sshString(KEY_TYPE),
    sshString(pub),
    sshString(Buffer.concat([seed, pub])),
    sshString(comment),
  ]);
  const padding = Array.from({ length: (8 - (section.length % 8)) % 8 }, (_, i) => i + 1);
  section = Buffer.concat([section, Buffer.from(padding)]);
  const file = Buffer.concat([
    Buffer.from("openssh-key-v1\0"),
    sshString("none"),
    sshString("none"),
    sshString(""),
    uint32(1),
    sshString(blob),
    sshString(section),
  ]).toString("base64");
  const lines = file.match(/.{1,70}/g) ?? [];
  return {
    private: `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join("\n")}\n-----END OPENSSH PRIVATE KEY-----\n`,
    public: `${KEY_TYPE} ${blob.toString("base64")}${comment === "" ? "" : ` ${comment}`}`,
  };
}
