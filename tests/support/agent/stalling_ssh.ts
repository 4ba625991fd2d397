/**
 * An SSH client for rsync's `-e` that turns hostile halfway: it carries the transfer like `ssh` (ssh2's
 * client, host key pinned), and once `--stall-after` bytes have come from the server it opens the channel's
 * window by a gigabyte and stops reading its TCP connection: it writes its process id to `CONTROL/stalled`
 * and stops itself (SIGSTOP), so a test can look at the server in between, then let the transfer finish
 * with SIGCONT.
 *
 * `deno run -A stalling_ssh.ts --port P --identity KEY --host-key PUB --control DIR --stall-after N
 * [-l USER] HOST COMMAND...` (rsync adds `-l USER HOST COMMAND...`).
 */
import { Buffer } from "node:buffer";
import { connect } from "node:net";
import process from "node:process";
import { Client, type ClientChannel, utils } from "ssh2";

/** How far the window is opened: far more than the agent may keep in memory. */
const WIDE_WINDOW = 1024 * 1024 * 1024;

// `--name value` pairs, then rsync's `[-l USER] HOST COMMAND...` (whose words start with `-` too)
const values: Record<string, string> = {};
let at = 0;
for (; Deno.args[at]?.startsWith("--"); at += 2) values[Deno.args[at]!.slice(2)] = Deno.args[at + 1]!;
if (Deno.args[at] === "-l") {
  values.l = Deno.args[at + 1]!;
  at += 2;
}
const [host, ...command] = Deno.args.slice(at);
const hostKey = utils.parseKey(await Deno.readTextFile(values["host-key"]!));
if (hostKey instanceof Error) throw hostKey;
const expected = hostKey.getPublicSSH();
const stallAfter = Number(values["stall-after"]);
const control = values.control!;

const privateKey = Buffer.from(await Deno.readFile(values.identity!));
const socket = connect({ host: host!, port: Number(values.port) });
const client = new Client();
const channel = await new Promise<ClientChannel>((resolve, reject) => {
  client.on("ready", () => {
    client.exec(command.join(" "), (error, channel) => error ? reject(error) : resolve(channel));
  });
  client.on("error", reject);
  client.connect({
    sock: socket,
    username: values.l ?? "agent",
    privateKey,
    hostVerifier: (key: Buffer) => key.equals(expected),
  });
});

let received = 0;
let stalled = false;
channel.pipe(process.stdout);
process.stdin.pipe(channel);
channel.on("data", (data: Buffer) => {
  received += data.length;
  if (!stalled && received >= stallAfter) {
    stalled = true;
    // the window as a client that wants it all would open it; ssh2's own count follows, or it drops data
    const internal = channel as unknown as { incoming: { window: number }; outgoing: { id: number } };
    internal.incoming.window += WIDE_WINDOW;
    (client as unknown as { _protocol: { channelWindowAdjust(id: number, amount: number): void } })._protocol
      .channelWindowAdjust(internal.outgoing.id, WIDE_WINDOW);
    // once the adjustment is out, the whole process stops: nothing reads the connection until SIGCONT
    socket.write(new Uint8Array(0), () => {
      Deno.writeTextFileSync(`${control}/stalled`, String(Deno.pid));
      Deno.kill(Deno.pid, "SIGSTOP");
    });
  }
});
channel.stderr.pipe(process.stderr);
const code = await new Promise<number>((resolve) => {
  channel.on("exit", (code: number | null) => resolve(code ?? 255));
});
await new Promise((resolve) => channel.on("close", resolve));
await new Promise((resolve) => process.stdout.write("", resolve)); // what stdout still holds
client.end();
Deno.exit(code);
