/** The `dr-syncer` command. */
import { registerScheduleTick } from "../cron/schedule_tick.ts";
import { main } from "./run_cli.ts";

// `serve` and `start` run the schedules: their one Deno.cron tick is registered here, at the top level of
// the entry module, before any await (hosts that read cron registrations from it see it)
if (import.meta.main && (Deno.args[0] === "serve" || Deno.args[0] === "start")) registerScheduleTick();

function writer(stream: { writeSync(p: Uint8Array): number }): (text: string) => void {
  const encoder = new TextEncoder();
  return (text) => {
    let bytes = encoder.encode(text);
    while (bytes.length > 0) bytes = bytes.subarray(stream.writeSync(bytes));
  };
}

if (import.meta.main) {
  const code = await main(Deno.args, {
    stdout: writer(Deno.stdout),
    stderr: writer(Deno.stderr),
    env: (name) => Deno.env.get(name),
    stderrIsTerminal: Deno.stderr.isTerminal(),
    stopRequested: () =>
      new Promise<string>((resolve) => {
        for (const signal of ["SIGTERM", "SIGINT"] as const) {
          Deno.addSignalListener(signal, () => resolve(signal));
        }
      }),
  });
  Deno.exit(code);
}
