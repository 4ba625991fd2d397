/**
 * `enlargeChildPipes` on real pipes to a real child process: the agent's end is found through `/proc`, the
 * capacity raised (`F_GETPIPE_SZ` reports it), the data still arrives whole, with reads larger than 64 KiB;
 * refused sizes, a non-pipe and a gone process leave things as they are, with a reason.
 */
import assert from "node:assert/strict";
import { DEFAULT_PIPE_SIZE, enlargeChildPipes, pipeSize } from "../../agent/pipe_size.ts";

const BYTES = 8 * 1024 * 1024;

Deno.test("enlargeChildPipes: a child's stdout and stdin pipes grow to 1 MiB, and one read takes more than 64 KiB", async () => {
  // The child waits for its stdin (so nothing is written before the pipes grow), then writes 8 MiB.
  const child = new Deno.Command("sh", {
    args: ["-c", `read line; head -c ${BYTES} /dev/zero`],
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const [stdout, stdin] = enlargeChildPipes(child.pid, [1, 0]);
  assert.ok(stdout !== undefined && "size" in stdout, JSON.stringify(stdout));
  assert.ok(stdin !== undefined && "size" in stdin, JSON.stringify(stdin));
  assert.equal(stdout.size, 1024 * 1024);
  assert.equal(stdin.size, 1024 * 1024);
  assert.notEqual(stdout.fd, stdin.fd);
  assert.equal(pipeSize(stdout.fd), 1024 * 1024);
  assert.equal(pipeSize(stdin.fd), 1024 * 1024);

  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode("go\n"));
  await writer.close();
  await new Promise((resolve) => setTimeout(resolve, 200)); // let the pipe fill
  const reader = child.stdout.getReader({ mode: "byob" });
  let total = 0;
  let largest = 0;
  let buffer = new ArrayBuffer(1024 * 1024);
  for (;;) {
    const { value, done } = await reader.read(new Uint8Array(buffer));
    if (done || value === undefined) break;
    total += value.length;
    largest = Math.max(largest, value.length);
    buffer = value.buffer as ArrayBuffer;
  }
  assert.equal((await child.status).code, 0);
  assert.equal(total, BYTES);
  assert.ok(largest > DEFAULT_PIPE_SIZE, `largest read ${largest}`);
});

Deno.test("enlargeChildPipes: a refused size, a descriptor that is no pipe and a gone process give reasons", async () => {
  const child = new Deno.Command("sh", {
    args: ["-c", "read line"],
    stdin: "piped",
    stdout: "null",
    stderr: "null",
  }).spawn();
  // -1 is above any pipe size: EINVAL, so the pipe keeps its 64 KiB.
  const [stdin, stdout] = enlargeChildPipes(child.pid, [0, 1], [-1]);
  assert.ok(stdin !== undefined && "reason" in stdin);
  assert.match(stdin.reason, /F_SETPIPE_SZ refused/);
  assert.ok(stdout !== undefined && "reason" in stdout);
  assert.match(stdout.reason, /no descriptor of the agent's is \/dev\/null/);
  await child.stdin.close();
  await child.status;
  const [gone] = enlargeChildPipes(child.pid, [1]);
  assert.ok(gone !== undefined && "reason" in gone);
  assert.match(gone.reason, /cannot read \/proc\/\d+\/fd\/1/);
});
