/**
 * A faster AES-GCM for ssh2, both ways: OpenSSL's (libcrypto, the library OpenSSH itself uses) through Deno's
 * FFI, in place of ssh2's pure `node:crypto` path.
 *
 * Why: in a pull the agent encrypts everything rsync sends. ssh2 (without its native binding, which cannot
 * load under Deno) creates a `node:crypto` cipher per packet, and Deno's `node:crypto` AES-128-GCM runs at
 * about 180 MB/s on the development machine, while libcrypto does about 2.9 GB/s through FFI (measured with
 * 32 KiB packets, docs/agent.md "Speed"). ssh2 also writes every packet to the socket in three pieces (length,
 * ciphertext, tag); this writes one.
 *
 * How: after each key exchange (`upgradeOutboundCipher` on the connection's "handshake" event), an outbound
 * `AESGCMCipherNative` of ssh2 is replaced by an `OpenSslGcmCipher` that continues from its exact state (key,
 * current invocation counter, sequence number, writer). Packets are laid out as ssh2's own binding lays them
 * out (room for the 16-byte tag after the packet) and encrypted in place: RFC 5647 as OpenSSH implements it,
 * the 4-byte packet length as additional authenticated data, the 12-byte nonce's last 8 bytes counting packets.
 * Channel data (in a pull, all of the volume) is encrypted from the channel's buffer straight into its packet
 * rather than copied into the packet first (`sendChannelData`, through the connection's `channelData`).
 * Anything else (other ciphers, libcrypto missing, no FFI permission, an ssh2 whose internals differ) keeps
 * ssh2's own cipher.
 *
 * Inbound (what the agent receives: a push into it), `upgradeInboundCipher` likewise replaces ssh2's
 * `AESGCMDecipherNative` (a `node:crypto` decipher per packet) by an `OpenSslGcmDecipher` that continues
 * its state machine and state; a packet whose tag does not verify is never handed on, the connection is
 * closed.
 */
import { Buffer } from "node:buffer";
import { randomFillSync } from "node:crypto";
import { LIBCRYPTO_PATHS } from "../shared/pvc/agent_command.ts";

const EVP_CTRL_GCM_GET_TAG = 0x10;
const EVP_CTRL_GCM_SET_TAG = 0x11;
const TAG_LENGTH = 16;
/** SSH_MSG_CHANNEL_DATA (RFC 4254), and what follows it before the data: recipient channel, data length. */
const MESSAGE_CHANNEL_DATA = 94;
const CHANNEL_DATA_HEADER = 1 + 4 + 4;

const SYMBOLS = {
  EVP_CIPHER_CTX_new: { parameters: [], result: "pointer" },
  EVP_CIPHER_CTX_free: { parameters: ["pointer"], result: "void" },
  EVP_aes_128_gcm: { parameters: [], result: "pointer" },
  EVP_aes_256_gcm: { parameters: [], result: "pointer" },
  EVP_EncryptInit_ex: { parameters: ["pointer", "pointer", "pointer", "buffer", "buffer"], result: "i32" },
  EVP_EncryptUpdate: { parameters: ["pointer", "buffer", "buffer", "buffer", "i32"], result: "i32" },
  EVP_EncryptFinal_ex: { parameters: ["pointer", "buffer", "buffer"], result: "i32" },
  EVP_CIPHER_CTX_ctrl: { parameters: ["pointer", "i32", "i32", "buffer"], result: "i32" },
  EVP_DecryptInit_ex: { parameters: ["pointer", "pointer", "pointer", "buffer", "buffer"], result: "i32" },
  EVP_DecryptUpdate: { parameters: ["pointer", "buffer", "buffer", "buffer", "i32"], result: "i32" },
  EVP_DecryptFinal_ex: { parameters: ["pointer", "buffer", "buffer"], result: "i32" },
} as const;

type LibCrypto = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** By path first (what the agent's FFI permission names), then by name (for `-A` elsewhere). */
const LIBRARY_NAMES = [...LIBCRYPTO_PATHS, "libcrypto.so.3", "libcrypto.so"];

let loaded: { readonly lib: LibCrypto; readonly name: string } | null | undefined;

/** libcrypto, or null when it cannot be loaded (not installed, no `--allow-ffi`). Loaded once. */
function libcrypto(): { readonly lib: LibCrypto; readonly name: string } | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  for (const name of LIBRARY_NAMES) {
    try {
      loaded = { lib: Deno.dlopen(name, SYMBOLS).symbols, name };
      break;
    } catch {
      // next name, or ssh2's own cipher
    }
  }
  return loaded;
}

/** Which outbound AES-GCM the agent uses: `openssl (libcrypto.so.3)` or `node:crypto` (ssh2's own). */
export function outboundGcmBackend(): string {
  const found = libcrypto();
  return found === null ? "node:crypto" : `openssl (${found.name.split("/").at(-1)})`;
}

/** Which inbound AES-GCM the agent uses (the same library as outbound). */
export const inboundGcmBackend: () => string = outboundGcmBackend;

/**
 * A libcrypto AES-GCM context keyed for `state` in one direction (the key schedule is set up once;
 * each packet then only sets its nonce). Throws when libcrypto is missing or the state is not AES-GCM.
 */
function gcmContext(
  state: { readonly sslName: string; readonly key: Uint8Array; readonly iv: Uint8Array },
  direction: "encrypt" | "decrypt",
): { lib: LibCrypto; ctx: Deno.PointerObject } {
  const found = libcrypto();
  if (found === null) throw new Error("libcrypto is not available");
  const lib = found.lib;
  const cipher = state.sslName === "aes-128-gcm"
    ? lib.EVP_aes_128_gcm()
    : state.sslName === "aes-256-gcm"
    ? lib.EVP_aes_256_gcm()
    : null;
  if (cipher === null) throw new Error(`Not an AES-GCM cipher: ${state.sslName}`);
  if (state.key.length !== (state.sslName === "aes-128-gcm" ? 16 : 32)) throw new Error("Bad AES-GCM key");
  if (state.iv.length !== 12) throw new Error("Bad AES-GCM nonce");
  const ctx = lib.EVP_CIPHER_CTX_new();
  if (ctx === null) throw new Error("EVP_CIPHER_CTX_new failed");
  const init = direction === "encrypt" ? lib.EVP_EncryptInit_ex : lib.EVP_DecryptInit_ex;
  if (init(ctx, cipher, null, Buffer.from(state.key), null) !== 1) {
    lib.EVP_CIPHER_CTX_free(ctx);
    throw new Error(`EVP_${direction === "encrypt" ? "Encrypt" : "Decrypt"}Init_ex failed`);
  }
  return { lib, ctx };
}

const contexts = new FinalizationRegistry<Deno.PointerObject>((ctx) =>
  libcrypto()?.lib.EVP_CIPHER_CTX_free(ctx)
);

/** What the cipher needs from ssh2's outbound cipher state. */
export interface GcmCipherState {
  /** `aes-128-gcm` or `aes-256-gcm`. */
  readonly sslName: string;
  readonly key: Uint8Array;
  /** The 12-byte nonce for the next packet (fixed 4 bytes, then the 8-byte invocation counter). */
  readonly iv: Uint8Array;
  readonly seqno: number;
  readonly onWrite: (packet: Buffer) => void;
  /**
   * The connection's socket. With it, packets are written to it directly (as ssh2's `onWrite` does) with a
   * completion callback, so their buffers are reused once the socket is done with them.
   */
  readonly socket?: PacketSocket;
}

/** What the cipher needs of a `net.Socket`. */
export interface PacketSocket {
  readonly writable: boolean;
  readonly _readableState?: { readonly ended: boolean };
  write(data: Uint8Array, callback: () => void): boolean;
}

/** Packets up to this size (an OpenSSH client's largest, 32 KiB of data plus headers) use pooled buffers. */
const POOLED_PACKET_SIZE = 33 * 1024;
/** Most free buffers kept (about 2 MiB, an OpenSSH client's window). */
const POOL_MAX = 64;
const freeBuffers: ArrayBuffer[] = [];
/** Buffers handed out and not yet back: a buffer returns to the pool once, and only one of these. */
const lentBuffers = new WeakSet<ArrayBuffer>();

function takeBuffer(size: number): Buffer {
  if (size > POOLED_PACKET_SIZE) return Buffer.allocUnsafe(size);
  const buffer = freeBuffers.pop() ?? new ArrayBuffer(POOLED_PACKET_SIZE);
  lentBuffers.add(buffer);
  return Buffer.from(buffer, 0, size);
}

function giveBack(packet: Uint8Array): void {
  const buffer = packet.buffer as ArrayBuffer;
  if (!lentBuffers.has(buffer)) return;
  lentBuffers.delete(buffer);
  if (freeBuffers.length < POOL_MAX) freeBuffers.push(buffer);
}

/** ssh2's own test before it writes (`isWritable` in ssh2's utils). */
function isWritable(socket: PacketSocket): boolean {
  return socket.writable && socket._readableState?.ended === false;
}

/** ssh2's outbound cipher interface (`allocPacket`, `encrypt`, `free`, `outSeqno`), on libcrypto. */
export class OpenSslGcmCipher {
  outSeqno: number;
  readonly #lib: LibCrypto;
  #ctx: Deno.PointerObject | null;
  readonly #iv: Buffer;
  readonly #onWrite: (packet: Buffer) => void;
  readonly #socket: PacketSocket | undefined;
  readonly #outLength = new Int32Array(1);
  readonly #scratch = new Uint8Array(32);

  constructor(state: GcmCipherState) {
    const { lib, ctx } = gcmContext(state, "encrypt");
    this.#lib = lib;
    this.#ctx = ctx;
    contexts.register(this, ctx, this);
    this.#iv = Buffer.from(state.iv);
    this.outSeqno = state.seqno;
    this.#onWrite = state.onWrite;
    this.#socket = state.socket;
  }

  free(): void {
    if (this.#ctx === null) return;
    contexts.unregister(this);
    this.#lib.EVP_CIPHER_CTX_free(this.#ctx);
    this.#ctx = null;
  }

  /** A packet with `payloadLength` bytes of payload at offset 5, random padding, and room for the tag. */
  allocPacket(payloadLength: number): Buffer {
    let packetLength = 4 + 1 + payloadLength;
    let padLength = 16 - ((packetLength - 4) & 15);
    if (padLength < 4) padLength += 16;
    packetLength += padLength;
    const packet = this.#socket === undefined
      ? Buffer.allocUnsafe(packetLength + TAG_LENGTH)
      : takeBuffer(packetLength + TAG_LENGTH);
    packet.writeUInt32BE(packetLength - 4, 0);
    packet[4] = padLength;
    randomFillSync(packet, 5 + payloadLength, padLength);
    return packet;
  }

  /** Encrypts a packet from `allocPacket` in place, appends the tag and writes it, as one buffer. */
  encrypt(packet: Buffer): void {
    const ctx = this.#ctx;
    if (ctx === null) return; // freed: ssh2's own ciphers drop packets after free() too
    const body = packet.subarray(4, packet.length - TAG_LENGTH);
    this.#begin(ctx, packet);
    this.#update(ctx, body, body);
    this.#seal(ctx, packet);
  }

  /**
   * Sends `data` on the peer's channel `recipient` as one SSH_MSG_CHANNEL_DATA packet (RFC 4254, 5.2), what
   * ssh2's `channelData` followed by `encrypt` sends, except that `data` is encrypted straight from the
   * caller's buffer into the packet instead of being copied into it first (in a pull, that copy is every
   * byte of the volume once more). `data` is read before this returns, as ssh2's copy would read it.
   */
  sendChannelData(recipient: number, data: Uint8Array): void {
    const ctx = this.#ctx;
    if (ctx === null) return;
    const packet = this.allocPacket(CHANNEL_DATA_HEADER + data.length);
    packet[5] = MESSAGE_CHANNEL_DATA;
    packet.writeUInt32BE(recipient >>> 0, 6);
    packet.writeUInt32BE(data.length, 10);
    const dataStart = 5 + CHANNEL_DATA_HEADER;
    const dataEnd = dataStart + data.length;
    const header = packet.subarray(4, dataStart);
    const padding = packet.subarray(dataEnd, packet.length - TAG_LENGTH);
    this.#begin(ctx, packet);
    this.#update(ctx, header, header);
    if (data.length > 0) this.#update(ctx, packet.subarray(dataStart, dataEnd), data);
    this.#update(ctx, padding, padding);
    this.#seal(ctx, packet);
  }

  /** Starts a packet: this packet's nonce, its length field as additional authenticated data. */
  #begin(ctx: Deno.PointerObject, packet: Buffer): void {
    const lib = this.#lib;
    if (
      lib.EVP_EncryptInit_ex(ctx, null, null, null, this.#iv) !== 1 ||
      lib.EVP_EncryptUpdate(ctx, null, this.#outLength, packet.subarray(0, 4), 4) !== 1
    ) {
      throw new Error("AES-GCM encryption failed");
    }
  }

  /** Encrypts `input` into `output` (the same length; the same bytes to encrypt in place). */
  #update(ctx: Deno.PointerObject, output: Uint8Array, input: Uint8Array): void {
    const out = this.#outLength;
    if (
      this.#lib.EVP_EncryptUpdate(ctx, output, out, input, input.length) !== 1 || out[0] !== input.length
    ) {
      throw new Error("AES-GCM encryption failed");
    }
  }

  /** Ends a packet: appends its tag, writes it, and moves on to the next packet's nonce and number. */
  #seal(ctx: Deno.PointerObject, packet: Buffer): void {
    const lib = this.#lib;
    const out = this.#outLength;
    const tag = packet.subarray(packet.length - TAG_LENGTH);
    if (
      lib.EVP_EncryptFinal_ex(ctx, this.#scratch, out) !== 1 || out[0] !== 0 ||
      lib.EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LENGTH, tag) !== 1
    ) {
      throw new Error("AES-GCM encryption failed");
    }
    const socket = this.#socket;
    if (socket === undefined) this.#onWrite(packet);
    else if (isWritable(socket)) socket.write(packet, () => giveBack(packet));
    incrementCounter(this.#iv);
    this.outSeqno = (this.outSeqno + 1) >>> 0;
  }
}

/** Adds 1 to the 64-bit big-endian invocation counter in the nonce's last 8 bytes (RFC 5647, 7.1). */
function incrementCounter(iv: Uint8Array): void {
  for (let i = 11; i >= 4; i--) {
    iv[i] = (iv[i]! + 1) & 0xff;
    if (iv[i] !== 0) return;
  }
}

/** The fields of ssh2 1.17's `AESGCMCipherNative` this module reads. */
interface NativeGcmCipher {
  readonly constructor: { readonly name: string };
  readonly outSeqno: number;
  readonly _onWrite: (packet: Buffer) => void;
  readonly _encSSLName: string;
  readonly _encKey: Buffer;
  readonly _encIV: Buffer;
  readonly _dead: boolean;
  free(): void;
}

/**
 * Replaces the connection's outbound cipher by `OpenSslGcmCipher` when it is ssh2's `node:crypto` AES-GCM.
 * Call on every "handshake" event of a connection (the first and each re-key): the cipher for the new keys
 * is in place by then. Returns true when it replaced it.
 */
export function upgradeOutboundCipher(connection: unknown): boolean {
  const protocol = (connection as { _protocol?: { _cipher?: unknown } })._protocol;
  const native = protocol?._cipher as Partial<NativeGcmCipher> | undefined;
  if (
    protocol === undefined || native === undefined || native.constructor?.name !== "AESGCMCipherNative" ||
    native._dead !== false || typeof native._onWrite !== "function" || typeof native.outSeqno !== "number" ||
    !Buffer.isBuffer(native._encKey) || !Buffer.isBuffer(native._encIV) ||
    typeof native._encSSLName !== "string" ||
    libcrypto() === null
  ) {
    return false;
  }
  const socket = (connection as { _sock?: unknown })._sock;
  const cipher = new OpenSslGcmCipher({
    sslName: native._encSSLName,
    key: native._encKey,
    iv: native._encIV,
    seqno: native.outSeqno,
    onWrite: native._onWrite,
    ...(isPacketSocket(socket) ? { socket } : {}),
  });
  native.free!();
  protocol._cipher = cipher;
  encryptChannelDataInPlace(protocol);
  return true;
}

/** What `encryptChannelDataInPlace` reads of ssh2 1.17's `Protocol`. */
interface ChannelDataProtocol {
  _cipher?: unknown;
  /** Set while a key exchange runs: ssh2 then queues packets, unencrypted, for the next keys. */
  _kexinit?: unknown;
  /** The packet writer: `PacketWriter` without compression (`ZlibPacketWriter` with it). */
  _packetRW?: {
    readonly write?: { readonly constructor?: { readonly name?: string }; readonly allocStart?: number };
  };
  _debug?: ((message: string) => void) | false | undefined;
  channelData?: (recipient: number, data: unknown) => unknown;
  [CHANNEL_DATA_HOOK]?: true;
}

const CHANNEL_DATA_HOOK = Symbol("dr-syncer.channelData");

/**
 * Makes the connection's `channelData` (what a channel's writes call, one SSH packet at a time) encrypt the
 * data straight into the packet (`OpenSslGcmCipher.sendChannelData`) whenever this module's cipher is in
 * place, no key exchange is running and nothing is compressed; otherwise ssh2's own `channelData` runs, which
 * copies the data into a packet and sends it through whatever cipher is current. Installed once per
 * connection, on the connection's object only.
 */
function encryptChannelDataInPlace(protocol: ChannelDataProtocol): void {
  const original = protocol.channelData;
  if (protocol[CHANNEL_DATA_HOOK] === true || typeof original !== "function") return;
  protocol[CHANNEL_DATA_HOOK] = true;
  protocol.channelData = function (this: ChannelDataProtocol, recipient: number, data: unknown) {
    const cipher = this._cipher;
    if (
      cipher instanceof OpenSslGcmCipher && this._kexinit === undefined && Buffer.isBuffer(data) &&
      this._packetRW?.write?.constructor?.name === "PacketWriter" && this._packetRW.write.allocStart === 5
    ) {
      if (this._debug) this._debug(`Outbound: Sending CHANNEL_DATA (r:${recipient}, ${data.length})`);
      cipher.sendChannelData(recipient, data);
      return;
    }
    return original.call(this, recipient, data);
  };
}

function isPacketSocket(socket: unknown): socket is PacketSocket {
  const candidate = socket as Partial<PacketSocket> | null | undefined;
  return typeof candidate?.write === "function" && typeof candidate.writable === "boolean" &&
    typeof candidate._readableState?.ended === "boolean";
}

/** What the decipher needs from ssh2's inbound decipher state. */
export interface GcmDecipherState {
  /** `aes-128-gcm` or `aes-256-gcm`. */
  readonly sslName: string;
  readonly key: Uint8Array;
  /** The 12-byte nonce for the next packet (fixed 4 bytes, then the 8-byte invocation counter). */
  readonly iv: Uint8Array;
  readonly seqno: number;
  /** ssh2's packet handler: `false` or a number from it stops the parsing of the current chunk there. */
  readonly onPayload: (payload: Buffer) => unknown;
}

/** ssh2's largest inbound packet, length field and tag included (`MAX_PACKET_SIZE` in its crypto.js). */
const MAX_PACKET_SIZE = 35000;
/** Decrypted packets are laid out one after the other in slabs of this size (not reused: see `#take`). */
const SLAB_SIZE = 256 * 1024;

/**
 * ssh2's inbound decipher interface (`decrypt`, `free`, `inSeqno`, `_onPayload`) on libcrypto: the state
 * machine of ssh2 1.17's `AESGCMDecipherNative`, packet by packet, for data split anywhere across chunks:
 * the 4-byte length (additional authenticated data, checked as ssh2 checks it), then the padding length,
 * payload and padding, decrypted as they come, then the 16-byte tag. A packet's payload goes to ssh2 only
 * once its tag is verified; a bad tag throws, and ssh2 then closes the connection.
 */
export class OpenSslGcmDecipher {
  inSeqno: number;
  /** ssh2 swaps it during a re-key (its kex.js), so it is read for every packet. */
  _onPayload: (payload: Buffer) => unknown;
  readonly #lib: LibCrypto;
  #ctx: Deno.PointerObject | null;
  readonly #iv: Buffer;
  readonly #outLength = new Int32Array(1);
  readonly #scratch = new Uint8Array(32);
  readonly #lengthField = new Uint8Array(4);
  readonly #tag = new Uint8Array(TAG_LENGTH);
  /** Bytes of the length field read, the length, bytes of the packet decrypted, bytes of the tag read. */
  #lengthRead = 0;
  #length = 0;
  #packetRead = 0;
  #tagRead = 0;
  #packet: Buffer | null = null;
  #slab = new ArrayBuffer(0);
  #slabUsed = 0;

  constructor(state: GcmDecipherState) {
    const { lib, ctx } = gcmContext(state, "decrypt");
    this.#lib = lib;
    this.#ctx = ctx;
    contexts.register(this, ctx, this);
    this.#iv = Buffer.from(state.iv);
    this.inSeqno = state.seqno;
    this._onPayload = state.onPayload;
  }

  free(): void {
    if (this.#ctx === null) return;
    contexts.unregister(this);
    this.#lib.EVP_CIPHER_CTX_free(this.#ctx);
    this.#ctx = null;
  }

  /**
   * Room for one decrypted packet. Packets are handed to ssh2 as views that its consumers may keep (a
   * channel's data is queued for rsync), so a slab is never written again once handed out: it is freed
   * when the last view of it is.
   */
  #take(length: number): Buffer {
    if (this.#slabUsed + length > this.#slab.byteLength) {
      this.#slab = new ArrayBuffer(Math.max(SLAB_SIZE, length));
      this.#slabUsed = 0;
    }
    const packet = Buffer.from(this.#slab, this.#slabUsed, length);
    this.#slabUsed += length;
    return packet;
  }

  /**
   * Decrypts `data[p, dataLen)`. Returns what ssh2's deciphers return: nothing when the chunk is used up,
   * or the position to go on from when the packet handler asked to stop (a new key took over).
   */
  decrypt(data: Uint8Array, p: number, dataLen: number): number | undefined {
    while (p < dataLen) {
      const ctx = this.#ctx;
      // freed (the connection is being torn down): what is left is dropped, as the outbound cipher does
      if (ctx === null) return dataLen;
      const lib = this.#lib;
      const out = this.#outLength;
      if (this.#lengthRead < 4) {
        while (this.#lengthRead < 4 && p < dataLen) this.#lengthField[this.#lengthRead++] = data[p++]!;
        if (this.#lengthRead < 4) return;
        const field = this.#lengthField;
        const length = this.#length =
          ((field[0]! << 24) | (field[1]! << 16) | (field[2]! << 8) | field[3]!) >>>
          0;
        if (length + 20 > MAX_PACKET_SIZE || length < 16 || (length & 15) !== 0) {
          throw new Error("Bad packet length");
        }
        if (
          lib.EVP_DecryptInit_ex(ctx, null, null, null, this.#iv) !== 1 ||
          lib.EVP_DecryptUpdate(ctx, null, out, field, 4) !== 1
        ) {
          throw new Error("AES-GCM decryption failed");
        }
        this.#packet = this.#take(length);
      }
      const packet = this.#packet!;
      const length = this.#length;
      if (this.#packetRead < length) {
        if (p >= dataLen) return;
        const n = Math.min(length - this.#packetRead, dataLen - p);
        if (
          lib.EVP_DecryptUpdate(ctx, packet.subarray(this.#packetRead), out, data.subarray(p, p + n), n) !==
            1 ||
          out[0] !== n
        ) {
          throw new Error("AES-GCM decryption failed");
        }
        p += n;
        this.#packetRead += n;
        if (this.#packetRead < length || p >= dataLen) return;
      }
      const n = Math.min(TAG_LENGTH - this.#tagRead, dataLen - p);
      this.#tag.set(data.subarray(p, p + n), this.#tagRead);
      p += n;
      this.#tagRead += n;
      if (this.#tagRead < TAG_LENGTH) return;
      if (
        lib.EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LENGTH, this.#tag) !== 1 ||
        lib.EVP_DecryptFinal_ex(ctx, this.#scratch, out) !== 1
      ) {
        throw new Error("Bad packet: AES-GCM authentication failed");
      }
      const padLength = packet[0]!;
      if (padLength + 1 > length) throw new Error("Bad padding length");
      const payload = packet.subarray(1, length - padLength);
      this.inSeqno = (this.inSeqno + 1) >>> 0;
      incrementCounter(this.#iv);
      this.#lengthRead = 0;
      this.#length = 0;
      this.#packetRead = 0;
      this.#tagRead = 0;
      this.#packet = null;
      const result = this._onPayload(payload);
      if (result !== undefined) return result === false ? p : result as number;
    }
  }
}

/** The fields of ssh2 1.17's `AESGCMDecipherNative` this module reads. */
interface NativeGcmDecipher {
  readonly constructor: { readonly name: string };
  readonly inSeqno: number;
  readonly _onPayload: (payload: Buffer) => unknown;
  readonly _decipherSSLName: string;
  readonly _decipherKey: Buffer;
  readonly _decipherIV: Buffer;
  readonly _lenBytes: number;
  readonly _pktLen: number;
  readonly _tagPos: number;
  free(): void;
}

/**
 * Replaces the connection's inbound decipher by `OpenSslGcmDecipher` when it is ssh2's `node:crypto`
 * AES-GCM and has not started on a packet (as on the "handshake" event: ssh2 puts the new decipher in place
 * while it handles the peer's NEWKEYS, just before). Call on every "handshake" event of a connection.
 * Returns true when it replaced it.
 */
export function upgradeInboundCipher(connection: unknown): boolean {
  const protocol = (connection as { _protocol?: { _decipher?: unknown } })._protocol;
  const native = protocol?._decipher as Partial<NativeGcmDecipher> | undefined;
  if (
    protocol === undefined || native === undefined || native.constructor?.name !== "AESGCMDecipherNative" ||
    typeof native._onPayload !== "function" || typeof native.inSeqno !== "number" ||
    native._lenBytes !== 0 || native._pktLen !== 0 || native._tagPos !== 0 ||
    !Buffer.isBuffer(native._decipherKey) || !Buffer.isBuffer(native._decipherIV) ||
    typeof native._decipherSSLName !== "string" ||
    libcrypto() === null
  ) {
    return false;
  }
  const decipher = new OpenSslGcmDecipher({
    sslName: native._decipherSSLName,
    key: native._decipherKey,
    iv: native._decipherIV,
    seqno: native.inSeqno,
    onPayload: native._onPayload,
  });
  native.free!();
  protocol._decipher = decipher;
  return true;
}

/**
 * Which implementation encrypts and decrypts a connection's packets now: `openssl` for this module's, or
 * the class name of ssh2's own (`AESGCMCipherNative`, `NullCipher` before the first key exchange, ...).
 */
export function connectionCrypto(connection: unknown): { inbound: string; outbound: string } {
  const protocol = (connection as { _protocol?: { _cipher?: unknown; _decipher?: unknown } })._protocol;
  const describe = (value: unknown) =>
    value instanceof OpenSslGcmCipher || value instanceof OpenSslGcmDecipher
      ? "openssl"
      : String((value as { constructor?: { name?: string } } | undefined)?.constructor?.name ?? "none");
  return { inbound: describe(protocol?._decipher), outbound: describe(protocol?._cipher) };
}
