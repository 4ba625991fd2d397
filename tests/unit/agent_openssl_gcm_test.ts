import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createDecipheriv, randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { OpenSslGcmCipher, outboundGcmBackend, upgradeOutboundCipher } from "../../agent/ssh_openssl_gcm.ts";

const require = createRequire(import.meta.url);
/** ssh2's own cipher module: the `node:crypto` AES-GCM this replaces is the reference. */
const ssh2Crypto = require("ssh2/lib/protocol/crypto.js") as {
  CIPHER_INFO: Record<string, unknown>;
  createCipher(config: unknown): {
    allocPacket(length: number): Buffer;
    encrypt(packet: Buffer): void;
    free(): void;
    outSeqno: number;
  };
};

function ssh2Cipher(name: string, key: Buffer, iv: Buffer, seqno: number, onWrite: (data: Buffer) => void) {
  return ssh2Crypto.createCipher({
    outbound: {
      onWrite,
      cipherInfo: ssh2Crypto.CIPHER_INFO[name],
      cipherKey: Buffer.from(key),
      cipherIV: Buffer.from(iv),
      seqno,
      forceNative: true,
    },
  });
}

/** Fills a packet's payload and padding the same way for both ciphers (padding is random otherwise). */
function fill(packet: Buffer, payload: Buffer): void {
  payload.copy(packet, 5);
  const padLength = packet[4]!;
  for (let i = 0; i < padLength; i++) packet[5 + payload.length + i] = i;
}

Deno.test("libcrypto is found on this machine (the agent's fast path)", () => {
  assert.match(outboundGcmBackend(), /^openssl /);
});

for (const name of ["aes128-gcm@openssh.com", "aes256-gcm@openssh.com"]) {
  Deno.test(`OpenSslGcmCipher writes exactly what ssh2's ${name} writes`, () => {
    const key = randomBytes(name.startsWith("aes128") ? 16 : 32);
    // A counter about to carry across bytes, so the increment is checked too.
    const iv = Buffer.concat([randomBytes(4), Buffer.from([0, 0, 0, 0, 0, 0, 0xff, 0xfe])]);
    const expected: Buffer[] = [];
    const actual: Buffer[] = [];
    const reference = ssh2Cipher(name, key, iv, 7, (data) => expected.push(Buffer.from(data)));
    const cipher = new OpenSslGcmCipher({
      sslName: name.startsWith("aes128") ? "aes-128-gcm" : "aes-256-gcm",
      key,
      iv,
      seqno: 7,
      onWrite: (data) => actual.push(Buffer.from(data)),
    });
    for (const length of [0, 1, 9, 15, 16, 17, 100, 1000, 32768 + 9, 4, 65536, 3]) {
      const payload = randomBytes(length);
      const a = reference.allocPacket(length);
      fill(a, payload);
      reference.encrypt(a);
      const b = cipher.allocPacket(length);
      fill(b, payload);
      cipher.encrypt(b);
      assert.equal(cipher.outSeqno, reference.outSeqno);
    }
    assert.equal(actual.length, 12, "one write per packet");
    assert.deepEqual(Buffer.concat(actual), Buffer.concat(expected));
    cipher.free();
    cipher.encrypt(cipher.allocPacket(10)); // after free: dropped, as ssh2's ciphers do
    assert.equal(actual.length, 12);
  });
}

Deno.test("OpenSslGcmCipher's packets decrypt and authenticate with node:crypto", () => {
  const key = randomBytes(16);
  const iv = randomBytes(12);
  const written: Buffer[] = [];
  const cipher = new OpenSslGcmCipher({
    sslName: "aes-128-gcm",
    key,
    iv,
    seqno: 0,
    onWrite: (d) => written.push(d),
  });
  const payload = randomBytes(5000);
  const packet = cipher.allocPacket(payload.length);
  payload.copy(packet, 5);
  cipher.encrypt(packet);
  const out = written[0]!;
  const decipher = createDecipheriv("aes-128-gcm", key, iv);
  decipher.setAAD(out.subarray(0, 4));
  decipher.setAuthTag(out.subarray(out.length - 16));
  const plain = Buffer.concat([decipher.update(out.subarray(4, out.length - 16)), decipher.final()]);
  assert.equal(out.readUInt32BE(0), plain.length);
  assert.deepEqual(plain.subarray(1, 1 + payload.length), payload);
  // A flipped bit anywhere fails the tag.
  const tampered = Buffer.from(out);
  tampered[100]! ^= 1;
  const check = createDecipheriv("aes-128-gcm", key, iv);
  check.setAAD(tampered.subarray(0, 4));
  check.setAuthTag(tampered.subarray(tampered.length - 16));
  check.update(tampered.subarray(4, tampered.length - 16));
  assert.throws(() => check.final());
});

Deno.test("upgradeOutboundCipher continues from ssh2's cipher state and leaves other ciphers alone", () => {
  const key = randomBytes(16);
  const iv = randomBytes(12);
  const expected: Buffer[] = [];
  const actual: Buffer[] = [];
  const reference = ssh2Cipher("aes128-gcm@openssh.com", key, iv, 0, (d) => expected.push(Buffer.from(d)));
  const native = ssh2Cipher("aes128-gcm@openssh.com", key, iv, 0, (d) => actual.push(Buffer.from(d)));
  const connection = { _protocol: { _cipher: native as unknown } };
  const payloads = [randomBytes(50), randomBytes(3000), randomBytes(7)];
  // Two packets through ssh2's cipher, then the switch, then the third.
  for (const [i, payload] of payloads.entries()) {
    if (i === 2) assert.equal(upgradeOutboundCipher(connection), true);
    const current = connection._protocol._cipher as typeof native;
    for (const c of [reference, current]) {
      const packet = c.allocPacket(payload.length);
      fill(packet, payload);
      c.encrypt(packet);
    }
  }
  assert.ok(connection._protocol._cipher instanceof OpenSslGcmCipher);
  assert.equal((connection._protocol._cipher as OpenSslGcmCipher).outSeqno, 3);
  assert.deepEqual(Buffer.concat(actual), Buffer.concat(expected));
  // Not AES-GCM: untouched.
  const ctr = ssh2Crypto.createCipher({
    outbound: {
      onWrite: () => {},
      cipherInfo: ssh2Crypto.CIPHER_INFO["aes128-ctr"],
      cipherKey: randomBytes(16),
      cipherIV: randomBytes(16),
      macInfo: { sslName: "sha256", len: 32, actualLen: 32, isETM: true },
      macKey: randomBytes(32),
      seqno: 0,
    },
  });
  const other = { _protocol: { _cipher: ctr as unknown } };
  assert.equal(upgradeOutboundCipher(other), false);
  assert.equal(other._protocol._cipher, ctr);
  assert.equal(upgradeOutboundCipher({}), false);
});

Deno.test("with the socket, packets are written directly and a buffer is reused only once the socket is done", () => {
  const key = randomBytes(16);
  const iv = randomBytes(12);
  const expected: Buffer[] = [];
  const reference = ssh2Cipher("aes128-gcm@openssh.com", key, iv, 0, (d) => expected.push(Buffer.from(d)));
  const pending: { data: Uint8Array; copy: Buffer; done: () => void }[] = [];
  const written: Buffer[] = [];
  const socket = {
    writable: true,
    _readableState: { ended: false },
    write(data: Uint8Array, done: () => void) {
      pending.push({ data, copy: Buffer.from(data), done });
      written.push(Buffer.from(data));
      return true;
    },
  };
  const cipher = new OpenSslGcmCipher({
    sslName: "aes-128-gcm",
    key,
    iv,
    seqno: 0,
    onWrite: () => assert.fail("onWrite is not used with a socket"),
    socket,
  });
  const seen = new Set<ArrayBufferLike>();
  let reused = 0;
  for (let i = 0; i < 200; i++) {
    const payload = randomBytes(i % 3 === 0 ? 32768 + 9 : i * 37 % 2000);
    for (const c of [reference, cipher]) {
      const packet = c.allocPacket(payload.length);
      if (c === cipher) {
        if (seen.has(packet.buffer)) reused++;
        seen.add(packet.buffer);
      }
      fill(packet, payload);
      c.encrypt(packet);
    }
    // The socket finishes writes late and out of step; nothing it still holds may change meanwhile.
    if (i % 5 === 4) {
      for (const write of pending.splice(0, 3)) {
        assert.deepEqual(Buffer.from(write.data), write.copy, "a buffer changed while the socket held it");
        write.done();
      }
    }
  }
  for (const write of pending) assert.deepEqual(Buffer.from(write.data), write.copy);
  assert.ok(reused > 50, `buffers reused: ${reused}`);
  assert.deepEqual(Buffer.concat(written), Buffer.concat(expected));
  // A socket that is no longer writable gets nothing (as with ssh2's own writer).
  socket.writable = false;
  cipher.encrypt(cipher.allocPacket(10));
  assert.equal(written.length, 200);
});
