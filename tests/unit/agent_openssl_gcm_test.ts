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

/** ssh2's protocol class and its plain (uncompressed) packet writer: the real `channelData` is the reference. */
const Protocol = require("ssh2/lib/protocol/Protocol.js") as {
  prototype: { channelData(recipient: number, data: unknown): void };
};
const { PacketWriter } = require("ssh2/lib/protocol/zlib.js") as {
  PacketWriter: new (protocol: unknown) => { alloc(size: number, force?: boolean): Buffer };
};

/** Another packet writer (ssh2's compressing one cannot start under Deno), laying packets out as the plain one. */
class OtherPacketWriter {
  readonly allocStart = 5;
  readonly allocStartKEX = 5;
  readonly #plain: { alloc(size: number, force?: boolean): Buffer };
  allocs = 0;
  constructor(protocol: unknown) {
    this.#plain = new PacketWriter(protocol);
  }
  alloc(size: number, force?: boolean): Buffer {
    this.allocs++;
    return this.#plain.alloc(size, force);
  }
  finalize(packet: Buffer): Buffer {
    return packet;
  }
}

/** Decrypts consecutive packets from `key`/`iv` (node:crypto), checking each tag; the payloads. */
function openPackets(written: Buffer, key: Buffer, iv: Buffer): Buffer[] {
  const nonce = Buffer.from(iv);
  const payloads: Buffer[] = [];
  for (let p = 0; p < written.length;) {
    const length = written.readUInt32BE(p);
    const decipher = createDecipheriv(key.length === 16 ? "aes-128-gcm" : "aes-256-gcm", key, nonce);
    decipher.setAAD(written.subarray(p, p + 4));
    decipher.setAuthTag(written.subarray(p + 4 + length, p + 4 + length + 16));
    const plain = Buffer.concat([decipher.update(written.subarray(p + 4, p + 4 + length)), decipher.final()]);
    const padLength = plain[0]!;
    assert.ok(padLength >= 4 && length % 16 === 0, "padding of at least 4 bytes to a whole block (RFC 5647)");
    payloads.push(plain.subarray(1, length - padLength));
    p += 4 + length + 16;
    for (let i = 11; i >= 4; i--) {
      nonce[i] = (nonce[i]! + 1) & 0xff;
      if (nonce[i] !== 0) break;
    }
  }
  return payloads;
}

Deno.test("channel data is encrypted straight from the channel's buffer into packets ssh2 would send", () => {
  const key = randomBytes(16);
  const iv = Buffer.concat([randomBytes(4), Buffer.from([0, 0, 0, 0, 0, 0, 0xff, 0xfd])]);
  const written: Buffer[] = [];
  const native = ssh2Cipher("aes128-gcm@openssh.com", key, iv, 0, (d) => written.push(Buffer.from(d)));
  const protocol: Record<string, unknown> = {
    _cipher: native,
    _kexinit: undefined,
    _debug: false,
    channelData: Protocol.prototype.channelData,
  };
  protocol._packetRW = { write: new PacketWriter(protocol) };
  // one packet through ssh2's own path first, so the switch continues a running connection
  (protocol.channelData as (r: number, d: Buffer) => void)(3, Buffer.from("before"));
  const writesBefore = written.length; // ssh2's own cipher writes a packet in three pieces
  assert.equal(upgradeOutboundCipher({ _protocol: protocol }), true);
  assert.notEqual(
    protocol.channelData,
    Protocol.prototype.channelData,
    "the connection's channelData is its own",
  );
  const send = (recipient: number, data: Buffer) =>
    (protocol.channelData as (r: number, d: Buffer) => void).call(protocol, recipient, data);
  const sent: { recipient: number; data: Buffer }[] = [{ recipient: 3, data: Buffer.from("before") }];
  for (const length of [0, 1, 7, 15, 16, 100, 32768, 5000]) {
    // a view inside a larger buffer, as rsync's output reaches the channel
    const backing = randomBytes(length + 64);
    const data = backing.subarray(32, 32 + length);
    const copy = Buffer.from(data);
    const recipient = length === 7 ? 0xfffffffe : 3;
    send(recipient, data);
    assert.deepEqual(data, copy, "the channel's buffer is not written to");
    sent.push({ recipient, data: copy });
  }
  // during a key exchange ssh2's own path queues the packet, unencrypted, for the next keys
  // (ssh2's kex.js sets the writer's allocStart to 0 meanwhile, and puts a new writer in place after)
  protocol._kexinit = {};
  protocol._packetRW = { write: Object.assign(new PacketWriter(protocol) as object, { allocStart: 0 }) };
  send(3, Buffer.from("queued"));
  assert.equal((protocol._queue as Buffer[]).length, 1);
  assert.equal(written.length - writesBefore, sent.length - 1, "nothing written during the key exchange");
  protocol._kexinit = undefined;
  protocol._packetRW = { write: new PacketWriter(protocol) };
  send(3, Buffer.from("after"));
  sent.push({ recipient: 3, data: Buffer.from("after") });
  assert.equal(written.length - writesBefore, sent.length - 1, "one socket write per packet");
  const payloads = openPackets(Buffer.concat(written), key, iv);
  assert.equal(payloads.length, sent.length);
  for (const [i, { recipient, data }] of sent.entries()) {
    const expected = Buffer.alloc(9 + data.length);
    expected[0] = 94; // SSH_MSG_CHANNEL_DATA
    expected.writeUInt32BE(recipient, 1);
    expected.writeUInt32BE(data.length, 5);
    data.copy(expected, 9);
    assert.deepEqual(payloads[i], expected, `packet ${i}`);
  }
  assert.equal((protocol._cipher as OpenSslGcmCipher).outSeqno, sent.length);
  // Another packet writer (as with compression): ssh2's own channelData lays the packet out, then the cipher.
  const other = new OtherPacketWriter(protocol);
  protocol._packetRW = { write: other };
  send(3, Buffer.from("other writer"));
  assert.equal(other.allocs, 1, "ssh2's own channelData laid the packet out");
  assert.equal(written.length - writesBefore, sent.length, "its packet went through the cipher");
  const last = openPackets(Buffer.concat(written), key, iv).at(-1)!;
  assert.deepEqual(last.subarray(9), Buffer.from("other writer"));
});
