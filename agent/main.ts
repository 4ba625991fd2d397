/**
 * The agent's entry: `deno task agent --root DIR --port N --host-key FILE --authorized-keys FILE`, exactly
 * as the DaemonSet runs it. Logs are JSON lines on stdout; usage errors go to stderr with exit code 2.
 * SIGTERM (or SIGINT) stops it gracefully: no new connections, running transfers get the grace period.
 */
import { createJsonLogger } from "../shared/log/mod.ts";
import { AgentUsageError } from "./agent_errors.ts";
import { startAgent } from "./agent_server.ts";
import { AGENT_HELP, parseAgentArgs } from "./parse_agent_args.ts";

function writer(stream: { writeSync(p: Uint8Array): number }): (text: string) => void {
  const encoder = new TextEncoder();
  return (text) => {
    let bytes = encoder.encode(text);
    while (bytes.length > 0) bytes = bytes.subarray(stream.writeSync(bytes));
  };
}

const stdout = writer(Deno.stdout);
const stderr = writer(Deno.stderr);

async function main(args: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseAgentArgs(args);
  } catch (error) {
    if (!(error instanceof AgentUsageError)) throw error;
    stderr(`dr-syncer agent: ${error.message}\n`);
    return 2;
  }
  if (parsed.help) {
    stdout(AGENT_HELP);
    return 0;
  }
  const logger = createJsonLogger({ level: parsed.logLevel, write: (line) => stdout(`${line}\n`) })
    .child({ component: "agent" });
  let agent;
  try {
    agent = await startAgent(parsed.options, logger);
  } catch (error) {
    if (!(error instanceof AgentUsageError)) throw error;
    logger.error("agent cannot start", { error: error.message });
    stderr(`dr-syncer agent: ${error.message}\n`);
    return 2;
  }
  const signal = await new Promise<Deno.Signal>((resolve) => {
    for (const name of ["SIGTERM", "SIGINT"] as const) Deno.addSignalListener(name, () => resolve(name));
  });
  logger.info("signal received", { signal });
  await agent.shutdown();
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
