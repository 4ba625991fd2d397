/**
 * The agent's inbound AES-GCM (`OpenSslGcmDecipher`, libcrypto through FFI) against ssh2's own cipher and
 * decipher (`node:crypto`), packet streams cut anywhere, the switch from ssh2's decipher mid-connection, and
 * a tampered packet on a real connection refused (the connection closed).
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { connect, createServer, type Server as NetServer, type Socket } from "node:net";
import { Client, Server } from "ssh2";
import { generateEd25519KeyPair } from "../../shared/pvc/ed25519_key.ts";
import {
  connectionCrypto,
  inboundGcmBackend,
  OpenSslGcmCipher,
  OpenSslGcmDecipher,
  upgradeInboundCipher,
  upgradeOutboundCipher,
} from "../../agent/ssh_openssl_gcm.ts";

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
  createDecipher(config: unknown): {
    decrypt(data: Buffer, p: number, length: number): number | undefined;
    free(): void;
    inSeqno: number;
    _onPayload: (payload: Buffer) => unknown;
  };
};

type Name = "aes128-gcm@openssh.com" | "aes256-gcm@openssh.com";
const sslName = (name: Name) => name.startsWith("aes128") ? "aes-128-gcm" : "aes-256-gcm";

function ssh2Cipher(name: Name, key: Buffer, iv: Buffer, onWrite: (data: Buffer) => void) {
  return ssh2Crypto.createCipher({
    outbound: {
      onWrite,
      cipherInfo: ssh2Crypto.CIPHER_INFO[name],
      cipherKey: Buffer.from(key),
      cipherIV: Buffer.from(iv),
      seqno: 0,
      forceNative: true,
    },
  });
}

function ssh2Decipher(name: Name, key: Buffer, iv: Buffer, seqno: number, onPayload: (p: Buffer) => unknown) {
  return ssh2Crypto.createDecipher({
    inbound: {
      onPayload,
      decipherInfo: ssh2Crypto.CIPHER_INFO[name],
      decipherKey: Buffer.from(key),
      decipherIV: Buffer.from(iv),
      seqno,
      forceNative: true,
    },
  });
}

/** Packets of these payload sizes, encrypted by ssh2's own cipher: the wire bytes and the payloads. */
function ssh2Stream(name: Name, key: Buffer, iv: Buffer, sizes: readonly number[]) {
  const wire: Buffer[] = [];
  const cipher = ssh2Cipher(name, key, iv, (data) => wire.push(Buffer.from(data)));
  const payloads = sizes.map((size) => {
    const payload = randomBytes(size);
    const packet = cipher.allocPacket(size);
    payload.copy(packet, 5);
    cipher.encrypt(packet);
    return payload;
  });
  return { wire: Buffer.concat(wire), payloads };
}

/** Bytes on the wire of a packet with `payload` bytes: length, padding length, payload, padding, tag. */
function wireSize(payload: number): number {
  let padding = 16 - ((1 + payload) & 15);
  if (padding < 4) padding += 16;
  return 4 + 1 + payload + padding + 16;
}

const SIZES = [1, 9, 15, 16, 17, 100, 1000, 32768 + 9, 4, 30000, 3, 32768 + 9, 32768 + 9, 200];

/** Cuts `data` into pieces of the given sizes, in turn (the last piece takes the rest). */
function cut(data: Buffer, sizes: readonly number[]): Buffer[] {
  const pieces: Buffer[] = [];
  for (let at = 0, i = 0; at < data.length; i++) {
    const size = sizes[i % sizes.length]!;
    // copies: the decipher must not rely on the chunks being one buffer
    pieces.push(Buffer.from(data.subarray(at, at + size)));
    at += size;
  }
  return pieces;
}

Deno.test("libcrypto is found on this machine for the inbound path too", () => {
  assert.match(inboundGcmBackend(), /^openssl /);
});

for (const name of ["aes128-gcm@openssh.com", "aes256-gcm@openssh.com"] as const) {
  Deno.test(`OpenSslGcmDecipher reads what ssh2's ${name} writes, however the stream is cut`, () => {
    const key = randomBytes(name.startsWith("aes128") ? 16 : 32);
    // A counter about to carry across bytes, so the increment is checked too.
    const iv = Buffer.concat([randomBytes(4), Buffer.from([0, 0, 0, 0, 0, 0, 0xff, 0xf8])]);
    const { wire, payloads } = ssh2Stream(name, key, iv, SIZES);
    for (const pieces of [[wire.length], [1], [3], [5, 17, 4096], [16], [20], [32 * 1024 + 40], [65536]]) {
      const received: Buffer[] = [];
      const decipher = new OpenSslGcmDecipher({
        sslName: sslName(name),
        key,
        iv,
        seqno: 5,
        onPayload: (payload) => void received.push(Buffer.from(payload)),
      });
      for (const piece of cut(wire, pieces)) {
        assert.equal(decipher.decrypt(piece, 0, piece.length), undefined);
      }
      assert.deepEqual(received, payloads, `cut in pieces of ${pieces.join(", ")}`);
      assert.equal(decipher.inSeqno, 5 + SIZES.length);
      decipher.free();
    }
  });

  Deno.test(`ssh2's own ${name} decipher reads what OpenSslGcmCipher writes (the other way round)`, () => {
    const key = randomBytes(name.startsWith("aes128") ? 16 : 32);
    const iv = randomBytes(12);
    const wire: Buffer[] = [];
    const cipher = new OpenSslGcmCipher({
      sslName: sslName(name),
      key,
      iv,
      seqno: 0,
      onWrite: (data) => wire.push(Buffer.from(data)),
    });
    const payloads = SIZES.map((size) => {
      const payload = randomBytes(size);
      const packet = cipher.allocPacket(size);
      payload.copy(packet, 5);
      cipher.encrypt(packet);
      return payload;
    });
    const all = Buffer.concat(wire);
    for (const reader of ["ssh2", "openssl"]) {
      const received: Buffer[] = [];
      const onPayload = (payload: Buffer) => void received.push(Buffer.from(payload));
      const decipher = reader === "ssh2"
        ? ssh2Decipher(name, key, iv, 0, onPayload)
        : new OpenSslGcmDecipher({ sslName: sslName(name), key, iv, seqno: 0, onPayload });
      for (const piece of cut(all, [7, 4000, 33000])) decipher.decrypt(piece, 0, piece.length);
      assert.deepEqual(received, payloads, reader);
    }
  });
}

Deno.test("a tampered packet is refused: no payload from it, an error instead", () => {
  const key = randomBytes(16);
  const iv = randomBytes(12);
  const { wire, payloads } = ssh2Stream("aes128-gcm@openssh.com", key, iv, [100, 5000, 100]);
  const first = wireSize(100);
  // a bit flipped in the second packet's ciphertext, in its tag, or in its length (authenticated data)
  for (const at of [first + 4 + 10, first + wireSize(5000) - 3, first + 3]) {
    const tampered = Buffer.from(wire);
    tampered[at]! ^= 0x10;
    const received: Buffer[] = [];
    const decipher = new OpenSslGcmDecipher({
      sslName: "aes-128-gcm",
      key,
      iv,
      seqno: 0,
      onPayload: (payload) => void received.push(Buffer.from(payload)),
    });
    assert.throws(
      () => decipher.decrypt(tampered, 0, tampered.length),
      /authentication failed|packet length/,
    );
    assert.deepEqual(received, payloads.slice(0, 1), `flipped at ${at}: only the first packet is handed on`);
  }
  // A length ssh2 refuses is refused the same way (not a multiple of 16, too long).
  for (const length of [17, 40000]) {
    const decipher = new OpenSslGcmDecipher({
      sslName: "aes-128-gcm",
      key,
      iv,
      seqno: 0,
      onPayload: () => {},
    });
    const bad = Buffer.alloc(64);
    bad.writeUInt32BE(length, 0);
    assert.throws(() => decipher.decrypt(bad, 0, bad.length), /Bad packet length/);
  }
});

Deno.test("the packet handler can stop the parsing of a chunk (as on NEWKEYS); a freed decipher drops input", () => {
  const key = randomBytes(16);
  const iv = randomBytes(12);
  const { wire, payloads } = ssh2Stream("aes128-gcm@openssh.com", key, iv, [10, 20, 30]);
  const received: Buffer[] = [];
  const decipher = new OpenSslGcmDecipher({
    sslName: "aes-128-gcm",
    key,
    iv,
    seqno: 0,
    onPayload: (payload) => {
      received.push(Buffer.from(payload));
      return received.length === 1 ? false : undefined;
    },
  });
  const stop = decipher.decrypt(wire, 0, wire.length);
  assert.equal(stop, wireSize(10), "stopped right after the first packet");
  assert.equal(decipher.decrypt(wire, stop!, wire.length), undefined);
  assert.deepEqual(received, payloads);
  decipher.free();
  assert.equal(decipher.decrypt(wire, 0, wire.length), wire.length);
  assert.equal(received.length, 3);
});

Deno.test("upgradeInboundCipher continues from ssh2's decipher state and leaves other deciphers alone", () => {
  const key = randomBytes(32);
  const iv = randomBytes(12);
  const { wire, payloads } = ssh2Stream("aes256-gcm@openssh.com", key, iv, [50, 3000, 7, 32768 + 9, 60]);
  const received: Buffer[] = [];
  const onPayload = (payload: Buffer) => void received.push(Buffer.from(payload));
  const connection = {
    _protocol: { _decipher: ssh2Decipher("aes256-gcm@openssh.com", key, iv, 9, onPayload) },
  };
  const two = wireSize(50) + wireSize(3000); // the first two packets
  // ssh2's decipher in the middle of a packet: not switched
  connection._protocol._decipher.decrypt(wire, 0, two + 2);
  assert.equal(upgradeInboundCipher(connection), false);
  connection._protocol._decipher.decrypt(wire, two + 2, two + wireSize(7));
  assert.equal(received.length, 3);
  // at a packet boundary: switched, and the rest reads on
  assert.equal(upgradeInboundCipher(connection), true);
  assert.ok(connection._protocol._decipher instanceof OpenSslGcmDecipher);
  assert.deepEqual(connectionCrypto(connection), { inbound: "openssl", outbound: "none" });
  connection._protocol._decipher.decrypt(wire, two + wireSize(7), wire.length);
  assert.deepEqual(received, payloads);
  assert.equal(connection._protocol._decipher.inSeqno, 9 + 5);
  // Not AES-GCM: untouched.
  const ctr = ssh2Crypto.createDecipher({
    inbound: {
      onPayload: () => {},
      decipherInfo: ssh2Crypto.CIPHER_INFO["aes128-ctr"],
      decipherKey: randomBytes(16),
      decipherIV: randomBytes(16),
      macInfo: { sslName: "sha256", len: 32, actualLen: 32, isETM: true },
      macKey: randomBytes(32),
      seqno: 0,
    },
  });
  const other = { _protocol: { _decipher: ctr } };
  assert.equal(upgradeInboundCipher(other), false);
  assert.equal(other._protocol._decipher, ctr);
  assert.equal(upgradeInboundCipher({}), false);
});

function listen(server: NetServer): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      resolve(typeof address === "object" && address !== null ? address.port : 0);
    });
  });
}

Deno.test("on a real connection: data decrypted through libcrypto across re-keys, a tampered packet closes it", async () => {
  const hostKey = generateEd25519KeyPair().private;
  const clientKey = generateEd25519KeyPair();
  const serverErrors: string[] = [];
  const crypto: { inbound: string; outbound: string }[] = [];
  let received = 0;
  let rekeyed = false;
  let serverClosed!: () => void;
  const closed = new Promise<void>((resolve) => serverClosed = resolve);
  const ssh = new Server(
    { hostKeys: [hostKey], algorithms: { cipher: ["aes128-gcm@openssh.com"] } },
    (conn) => {
      conn.on("handshake", () => {
        upgradeOutboundCipher(conn);
        upgradeInboundCipher(conn);
        crypto.push(connectionCrypto(conn));
      });
      conn.on("error", (error: Error) => serverErrors.push(error.message));
      conn.on("close", () => serverClosed());
      conn.on("authentication", (ctx) => ctx.accept());
      conn.on("ready", () => {
        conn.on("session", (accept) => {
          accept().on("exec", (acceptExec) => {
            const channel = acceptExec();
            channel.on("data", (chunk: Buffer) => {
              received += chunk.length;
              if (!rekeyed && received >= 1024 * 1024) {
                rekeyed = true;
                conn.rekey();
              }
              if (received >= 2 * 1024 * 1024) channel.write("got it\n");
            });
          });
        });
      });
    },
  );
  const sshPort = await listen(ssh as unknown as NetServer);
  // A proxy in between that flips one bit of the client's traffic once told to.
  let tamper = false;
  const sockets: Socket[] = [];
  const proxy = createServer((inbound) => {
    const outbound = connect(sshPort, "127.0.0.1");
    sockets.push(inbound, outbound);
    inbound.on("data", (chunk: Buffer) => {
      if (tamper && chunk.length > 16) {
        tamper = false;
        chunk = Buffer.from(chunk);
        chunk[chunk.length - 1]! ^= 1; // the last packet's tag
      }
      outbound.write(chunk);
    });
    outbound.on("data", (chunk: Buffer) => inbound.write(chunk));
    for (const socket of [inbound, outbound]) {
      socket.on("error", () => {});
      socket.on("close", () => {
        inbound.destroy();
        outbound.destroy();
      });
    }
  });
  const proxyPort = await listen(proxy);
  const client = new Client();
  let clientClosed!: () => void;
  const clientDone = new Promise<void>((resolve) => clientClosed = resolve);
  client.on("close", () => clientClosed());
  client.on("error", () => {});
  try {
    await new Promise<void>((resolve, reject) => {
      client.on("ready", () => resolve()).on("error", reject);
      client.connect({
        host: "127.0.0.1",
        port: proxyPort,
        username: "test",
        privateKey: clientKey.private,
        algorithms: { cipher: ["aes128-gcm@openssh.com"] },
      });
    });
    const channel = await new Promise<import("ssh2").ClientChannel>((resolve, reject) =>
      client.exec("x", (error, channel) => error ? reject(error) : resolve(channel))
    );
    const answer = new Promise<string>((resolve) =>
      channel.once("data", (chunk: Buffer) => resolve(String(chunk)))
    );
    // 2 MiB with a re-key in the middle: the new keys are taken over too
    const block = randomBytes(64 * 1024);
    for (let i = 0; i < 32; i++) {
      channel.write(block);
    }
    assert.equal(await answer, "got it\n");
    assert.equal(received, 2 * 1024 * 1024);
    assert.ok(crypto.length >= 2, `handshakes: ${crypto.length}`);
    for (const seen of crypto) assert.deepEqual(seen, { inbound: "openssl", outbound: "openssl" });
    // now one flipped bit: the agent's side refuses the packet and closes the connection
    tamper = true;
    channel.write(block);
    await closed;
    await clientDone;
    assert.ok(
      serverErrors.some((message) => /authentication failed/.test(message)),
      `errors: ${serverErrors.join("; ")}`,
    );
    // the packets of that write before the tampered one may have been handed on, not the tampered one
    assert.ok(received < 2 * 1024 * 1024 + block.length, `received ${received}`);
  } finally {
    client.end();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => proxy.close(resolve));
    await new Promise((resolve) => ssh.close(resolve));
  }
});
