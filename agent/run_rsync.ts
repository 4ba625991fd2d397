/**
 * Runs the checked rsync server and carries its data over an SSH channel. The process is started confined
 * (`confine.ts`: the volume is the only path of the node it sees, at `/volume`, its working directory;
 * read-only for a sending server), never through a shell, with an empty environment apart from `PATH` and
 * `LC_ALL`, so no `RSYNC_*` variable can change what it does.
 *
 * The data path is the agent's throughput (platform notes): data from the client is queued and written to
 * rsync's stdin in batches, one write in flight at a time, with the channel paused while the queue is above
 * `INPUT_HIGH_WATER` (SSH's window then stops the client); rsync's stdout goes to the channel, waiting for
 * `drain` only when the channel says it is full, or when the connection's socket holds more than
 * `OUTPUT_SOCKET_HIGH_WATER` not yet taken by the kernel. The SSH window alone does not bound that: ssh2 writes
 * every packet the window allows to the socket whatever the socket says, and the client chooses the window,
 * so a client that opens a window of gigabytes and then stops reading its TCP connection would otherwise
 * have the agent hold the whole volume in memory. When rsync exits the exit status is sent, then the channel
 * is ended: an OpenSSH client reports 255 otherwise.
 */
import { Buffer } from "node:buffer";
import type { Socket } from "node:net";
import type { Writable } from "node:stream";
import type { ServerChannel } from "ssh2";
import { type Sandbox, spawnConfined } from "./confine.ts";
import { DEFAULT_PIPE_SIZE, enlargeChildPipes } from "./pipe_size.ts";

/** Bytes queued for rsync's stdin above which the channel is paused. */
export const INPUT_HIGH_WATER = 1024 * 1024;
/** How long rsync gets to exit after its stdin was closed to stop it. */
const KILL_AFTER_MS = 2000;
/**
 * Largest read from rsync's stdout when its pipe could not be enlarged (a pipe holds 64 KiB; two SSH packets
 * for an OpenSSH client); otherwise the pipe's capacity (`pipe_size.ts`, 1 MiB).
 */
const OUTPUT_READ_SIZE = DEFAULT_PIPE_SIZE;
/** Most read buffers kept for rsync's stdout besides the one in use (the channel holds at most 2 MiB). */
const OUTPUT_SPARE_BUFFERS = 3;
/**
 * Bytes of SSH packets the connection's socket may hold (written, not yet taken by the kernel) before the
 * agent stops reading rsync's stdout until the socket drains: what a client that stops reading can make the
 * agent keep, besides the channel's own buffer and one read.
 */
export const OUTPUT_SOCKET_HIGH_WATER = 4 * 1024 * 1024;

export interface RunRsyncOptions {
  readonly sandbox: Sandbox;
  /** The server arguments, from `rsyncServerArgs`. */
  readonly args: readonly string[];
  /** The volume folder (real path): rsync's working directory, which the transfer paths are relative to. */
  readonly volume: string;
  /** False for a sending server: the volume is then read-only for it. */
  readonly writable: boolean;
  readonly channel: ServerChannel;
  /** The connection's TCP socket, whose backlog bounds what is read from rsync's stdout. */
  readonly socket: Socket;
  /** Stops the transfer: rsync is terminated, the exit status is still sent. */
  readonly signal?: AbortSignal;
  /** rsync's stderr, as text (it is also sent to the client). */
  readonly onStderr?: (text: string) => void;
  /** Why rsync's pipes were left at 64 KiB (`pipe_size.ts`), when they were. */
  readonly onPipeFallback?: (reason: string) => void;
}

export interface RsyncResult {
  /** rsync's exit code; `null` when it was ended by a signal. */
  readonly code: number | null;
  readonly signal: string | null;
  /** Bytes from the client to rsync, and from rsync to the client. */
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** The capacity of rsync's stdout pipe (1 MiB when enlarged, 64 KiB otherwise). */
  readonly pipeSize: number;
  /** How many reads of rsync's stdout that took (`bytesOut / outputReads`: the bytes one read took). */
  readonly outputReads: number;
}

/**
 * Resolves when `stream` (the SSH channel, or the connection's socket) can take more data, or when it is gone
 * (closed, or no longer writable: no `drain` would come).
 */
function drained(stream: Writable): Promise<void> {
  if (stream.destroyed || !stream.writable) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      stream.off("drain", done);
      stream.off("close", done);
      resolve();
    };
    stream.on("drain", done);
    stream.on("close", done);
  });
}

/** Runs rsync with the channel as its stdin/stdout/stderr, and sends its exit status when it ends. */
export async function runRsync(options: RunRsyncOptions): Promise<RsyncResult> {
  const { channel } = options;
  const confined = spawnConfined(options.sandbox, {
    volume: options.volume,
    writable: options.writable,
    args: options.args,
  }, { stdin: true });
  const child = confined.child;
  // Larger pipes, so that a read takes up to 1 MiB of rsync's output (and a push's writes to its stdin fill
  // more at once): fewer turns of the event loop per GiB.
  const [stdoutPipe, stdinPipe] = enlargeChildPipes(child.pid, [1, 0]);
  const pipeSize = stdoutPipe !== undefined && "size" in stdoutPipe ? stdoutPipe.size : OUTPUT_READ_SIZE;
  for (const pipe of [stdoutPipe, stdinPipe]) {
    if (pipe !== undefined && "reason" in pipe) options.onPipeFallback?.(pipe.reason);
  }

  let bytesIn = 0;
  let bytesOut = 0;
  let outputReads = 0;
  let channelOpen = true;
  // Client -> rsync stdin: batched writes, one in flight, the channel paused while the queue is full.
  let queue: Buffer[] = [];
  let queued = 0;
  let writing = false;
  let paused = false;
  let inputEnded = false;
  let inputClosed = false;
  // Stopping (channel closed, agent stopping): rsync's stdin ends, so it cleans up and exits as on a lost
  // connection (a --partial file kept); SIGKILL if it has not ended 2 s later.
  const writer = child.stdin.getWriter();
  const terminate = () => {
    inputClosed = true;
    queue = [];
    queued = 0;
    writer.abort().catch(() => {});
    confined.kill(KILL_AFTER_MS);
  };
  const onClose = () => {
    channelOpen = false;
    terminate();
  };
  channel.on("close", onClose);
  options.signal?.addEventListener("abort", terminate, { once: true });
  if (options.signal?.aborted) terminate();

  const pump = async () => {
    writing = true;
    try {
      while (queue.length > 0) {
        const batch = queue.length === 1 ? queue[0]! : Buffer.concat(queue, queued);
        queue = [];
        queued = 0;
        if (paused) {
          paused = false;
          channel.resume();
        }
        await writer.write(batch);
      }
      if (inputEnded && !inputClosed) {
        inputClosed = true;
        await writer.close();
      }
    } catch {
      // rsync stopped reading (it exited or failed): drop what the client still sends.
      inputClosed = true;
      queue = [];
      queued = 0;
      if (paused) {
        paused = false;
        channel.resume();
      }
    } finally {
      writing = false;
    }
  };
  channel.on("data", (chunk: Buffer) => {
    bytesIn += chunk.length;
    if (inputClosed) return;
    queue.push(chunk);
    queued += chunk.length;
    if (queued >= INPUT_HIGH_WATER && !paused) {
      paused = true;
      channel.pause();
    }
    if (!writing) void pump();
  });
  channel.on("end", () => {
    inputEnded = true;
    if (!writing) void pump();
  });

  // rsync stdout -> client, waiting only when the channel is full. Read into one buffer, reused for as long
  // as the channel copies each chunk into SSH packets at once. The channel keeps a reference while the SSH
  // window is closed (often: the client's window is what paces a pull); the next read then takes a spare
  // buffer, and the kept one becomes a spare once the channel has copied it (its write callback). So a few
  // buffers go round: no allocation per read (a fresh 1 MiB buffer per read cost page faults and garbage
  // collections).
  const output = (async () => {
    const reader = child.stdout.getReader({ mode: "byob" });
    const spares: ArrayBuffer[] = [];
    const kept = new Set<ArrayBuffer>();
    const copied = (used: ArrayBuffer) => (error?: Error | null) => {
      // after an error the channel may still hold it: left to the garbage collector
      if (!kept.delete(used) || error) return;
      if (spares.length < OUTPUT_SPARE_BUFFERS) spares.push(used);
    };
    let buffer = new ArrayBuffer(pipeSize);
    for (;;) {
      const { value, done } = await reader.read(new Uint8Array(buffer));
      if (done || value === undefined) break;
      bytesOut += value.length;
      outputReads++;
      buffer = value.buffer as ArrayBuffer;
      if (!channelOpen) continue;
      const more = channel.write(Buffer.from(buffer, value.byteOffset, value.length), copied(buffer));
      if (channel.writableLength > 0) {
        // the callback runs later (never during `write`), so it finds the buffer in `kept`
        kept.add(buffer);
        buffer = spares.pop() ?? new ArrayBuffer(pipeSize);
      }
      if (!more) await drained(channel);
      if (options.socket.writableLength > OUTPUT_SOCKET_HIGH_WATER) await drained(options.socket);
    }
  })();
  const errors = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stderr) {
      if (channelOpen) channel.stderr.write(chunk);
      options.onStderr?.(decoder.decode(chunk, { stream: true }));
    }
  })();

  const status = await child.status;
  confined.done();
  await Promise.allSettled([output, errors]);
  options.signal?.removeEventListener("abort", terminate);
  channel.off("close", onClose);
  if (!inputClosed) {
    inputClosed = true;
    await writer.close().catch(() => {});
  }
  if (channelOpen) {
    if (status.signal === null) channel.exit(status.code);
    else channel.exit(status.signal.replace(/^SIG/, ""), false, "");
    channel.end();
  }
  return {
    code: status.signal === null ? status.code : null,
    signal: status.signal,
    bytesIn,
    bytesOut,
    pipeSize,
    outputReads,
  };
}
