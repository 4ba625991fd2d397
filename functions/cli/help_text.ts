/**
 * `dr-syncer --help` and `dr-syncer COMMAND --help`, written from the same tables the parser reads:
 * the operations' descriptors (their options) and the flag groups of `cli_flags.ts`.
 */
import { type AnyOperation, findOperation, type OperationOption, OPERATIONS } from "../operations/mod.ts";
import { type CliFlagGroup, FLAG_GROUPS } from "./cli_flags.ts";
import { type Command, OTHER_COMMANDS, type OtherCommand } from "./parse_cli_args.ts";

const WIDTH = 32;

/** One flag's lines: the flag and its placeholder in a column, the help wrapped beside it. */
function flagLine(
  name: string,
  flag: {
    readonly short?: string | undefined;
    readonly placeholder?: string | undefined;
    readonly help: string;
  },
): string {
  const left = `  --${name}${flag.short ? `, -${flag.short}` : ""}${
    flag.placeholder ? ` ${flag.placeholder}` : ""
  }`;
  const words = flag.help.split(" ");
  const lines: string[] = [];
  let line = "";
  for (const word of words) {
    if (line !== "" && line.length + word.length + 1 > 110 - WIDTH - 2) {
      lines.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  lines.push(line);
  const pad = (text: string) => text.length >= WIDTH ? `${text}\n${" ".repeat(WIDTH)}` : text.padEnd(WIDTH);
  return [`${pad(left)}${lines[0]}`, ...lines.slice(1).map((l) => `${" ".repeat(WIDTH)}${l}`)].join("\n");
}

function groupText(group: CliFlagGroup, only?: readonly string[]): string {
  const { title, flags } = FLAG_GROUPS[group];
  const names = Object.keys(flags).filter((name) => only === undefined || only.includes(name));
  return `${title}:\n${names.map((name) => flagLine(name, flags[name]!)).join("\n")}`;
}

function optionsText(operation: AnyOperation): string {
  const lines: string[] = [];
  for (const option of Object.values(operation.options as Record<string, OperationOption>)) {
    if (option.cli === false) continue;
    const names = option.negation ? `${option.cli}, --${option.negation}` : option.cli;
    lines.push(flagLine(names, { help: option.help, placeholder: option.placeholder }));
  }
  const title = operation.name.charAt(0).toUpperCase() + operation.name.slice(1);
  return `${title} options:\n${lines.join("\n")}`;
}

function operationHelp(operation: AnyOperation): string {
  const [first, ...rest] = operation.description.split("\n");
  const sections = [
    `dr-syncer ${operation.name}: ${first!.charAt(0).toLowerCase()}${first!.slice(1)}${
      rest.length ? `\n${rest.join("\n")}` : ""
    }`,
    groupText("connection"),
    optionsText(operation),
    ...operation.flagGroups.map((group: CliFlagGroup) => groupText(group)),
    groupText("output"),
  ];
  return sections.join("\n\n");
}

const OTHER_HELP: Record<OtherCommand, string> = {
  status: `dr-syncer status: show a replication's state (active side, unfinished steps, last runs).

${groupText("connection")}

${groupText("output")}`,
  validate: `dr-syncer validate --config FILE: check a config file and list its replications.
Every error names the path of the bad field.`,
  render: `dr-syncer render --config FILE [--cluster NAME] [--output yaml|json]: print the manifests
"dr-syncer deploy" applies, one object per YAML document, in a stable order, each headed by a comment naming
its cluster: in every cluster the PVC data agent (namespace agent.namespace: DaemonSet, ServiceAccount,
authorized-keys Secret) and the runtime's ServiceAccount and RBAC; in runtime.cluster (default: the
replications' destination cluster) the runtime's config and Deployment + Service (or, with
runtime.cronJobs: true, one CronJob per scheduled replication). Reads no cluster and no credential.
Left out (deploy makes them): the agent host-key Secret, the kubeconfig Secrets of the other clusters, the
tokens Secret.

  --config FILE                 the dr-syncer config file (required)
${flagLine("cluster", FLAG_GROUPS.render.flags.cluster!)}
  --output, -o yaml|json        multi-document YAML (default), or one JSON document {clusters: [...]}
  --help, -h                    this help`,
  deploy: `dr-syncer deploy --config FILE [--dry-run]: install the agents and the runtime.
Applies what "dr-syncer render" prints to every cluster of the config with server-side apply (field manager
dr-syncer-deploy, forced), creates missing namespaces (an existing one is never changed), creates each
cluster's agent host key (ed25519, generated here) only when its Secret is missing, and writes in the
runtime's namespace a kubeconfig per other cluster (a token of the runtime's ServiceAccount there) and the
API tokens the config reads from this machine's environment or files. Running it again changes nothing.
Each cluster's kubeconfig must reach it from this machine with the rights to install RBAC.

  --config FILE                 the dr-syncer config file (required)
${flagLine("dry-run", FLAG_GROUPS.deploy.flags["dry-run"]!)}
${flagLine("keys-only", FLAG_GROUPS.deploy.flags["keys-only"]!)}
  --output, -o text|json        one line per object (created, configured, unchanged, kept, replaced, skipped) or JSON
  --log-level LEVEL             debug, info (default), warn, error; logs go to stderr
  --help, -h                    this help`,
  demo: `dr-syncer demo: the main job on the local test clusters, with no configuration.
Starts the two local clusters (deno task testenv up) when they are not running, seeds a sample app in
namespace "demo-shop" of the source, then runs stage, cutover and failback, showing what each step did.`,
};

function mainHelp(): string {
  const row = (usage: string, summary: string) => `  ${usage.padEnd(32)} ${summary}`;
  const rows = [
    ...OPERATIONS.map((o) => row(`dr-syncer ${o.name.padEnd(8)} [flags]`, o.summary)),
    row("dr-syncer status   [flags]", OTHER_COMMANDS.status.summary),
    `  dr-syncer serve    [--config FILE] [--host H] [--port P]   the function runtime: HTTP API, schedules,
                               continuous sync, status page and metrics ("dr-syncer serve --help")`,
    row("dr-syncer run-job    --job NAME", "run one schedule job once (the runtime's CronJob form)"),
    row("dr-syncer validate --config FILE", OTHER_COMMANDS.validate.summary),
    row("dr-syncer render   --config FILE", OTHER_COMMANDS.render.summary),
    row("dr-syncer deploy   --config FILE", OTHER_COMMANDS.deploy.summary),
    row("dr-syncer demo", OTHER_COMMANDS.demo.summary),
    row(
      "dr-syncer start    [--port N]",
      "the local clusters and sample apps served by the runtime (the main job)",
    ),
    "  dr-syncer --mode=Stage|Cutover|Failback [flags]   the older form of the first three",
  ];
  return `dr-syncer: disaster recovery for Kubernetes namespaces

Usage:
${rows.join("\n")}

Run "dr-syncer COMMAND --help" for the flags of a command.
Exit codes: 0 success, 1 failure (partial failure included), 2 bad usage.`;
}

export function helpText(command?: Command): string {
  if (command === undefined) return mainHelp();
  const operation = findOperation(command);
  if (operation) return operationHelp(operation);
  return OTHER_HELP[command as OtherCommand];
}
