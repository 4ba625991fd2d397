/**
 * Parses the command line: `dr-syncer COMMAND [flags]` or the older `dr-syncer --mode=Stage|Cutover|Failback`.
 * An operation's command takes the operation's options (from the registry, `functions/operations/`) and
 * the flag groups its descriptor names; every boolean flag is also accepted as `--flag=true|false`. A
 * flag of another command is a usage error naming the commands it belongs to.
 */
import { parseArgs } from "node:util";
import { parseBandwidthLimit } from "../../shared/config/mod.ts";
import { InvalidInputError } from "../../shared/errors.ts";
import { isLogLevel, type LogLevel } from "../../shared/log/logger.ts";
import { type AnyOperation, findOperation, type OperationOption, OPERATIONS } from "../operations/mod.ts";
import { type CliFlag, type CliFlagGroup, FLAG_GROUPS, MODE_FLAG } from "./cli_flags.ts";

/** The commands that are not operations, with the flags they take. */
export const OTHER_COMMANDS = {
  status: {
    summary: "the replication's state: active side, last runs",
    groups: ["connection", "output"],
    flags: [],
  },
  validate: { summary: "check a config file", groups: ["output"], flags: ["config"] },
  render: {
    summary: "print the manifests of the agents and the runtime, per cluster",
    groups: ["output", "render"],
    flags: ["config"],
  },
  deploy: {
    summary: "install the agents and the runtime in the config's clusters",
    groups: ["output", "deploy"],
    flags: ["config"],
  },
  demo: {
    summary: "the whole cycle on the local test clusters with a sample app",
    groups: ["output"],
    flags: [],
  },
} as const satisfies Record<
  string,
  { summary: string; groups: readonly CliFlagGroup[]; flags: readonly string[] }
>;

export type OtherCommand = keyof typeof OTHER_COMMANDS;

/** Every command: the operations (in the registry's order), then the others. */
export const COMMANDS: readonly string[] = [...OPERATIONS.map((o) => o.name), ...Object.keys(OTHER_COMMANDS)];
export type Command = string;

/** Bad flags or arguments: exit code 2. */
export class UsageError extends InvalidInputError {
  override readonly name = "UsageError";
}

export interface CliOptions {
  readonly sourceKubeconfig?: string;
  readonly destKubeconfig?: string;
  readonly sourceContext?: string;
  readonly destContext?: string;
  readonly sourceNamespace?: string;
  readonly destNamespace?: string;
  readonly resourceTypes?: string[];
  readonly excludeResourceTypes?: string[];
  readonly includeCustomResources: boolean;
  readonly syncCrds: boolean;
  readonly agentNamespace?: string;
  readonly mounterImage?: string;
  /** KiB/s. */
  readonly bandwidthLimit?: number;
  readonly verify?: "none" | "sample" | "full";
  readonly storageClassMap?: Record<string, string>;
  readonly accessModeMap?: Record<string, string>;
  readonly ingressHostMap?: Record<string, string>;
  readonly pruneClaims: boolean;
  readonly maxPrune?: number;
  readonly adopt: boolean;
  readonly immutable?: "report" | "recreate";
  readonly scaleToZero?: boolean;
  readonly config?: string;
  readonly replication?: string;
  /** render: only this cluster's objects. */
  readonly cluster?: string;
  /** deploy: send the writes as dry runs. */
  readonly dryRun: boolean;
  /** deploy: only the keys and credentials the Helm chart leaves to the user. */
  readonly keysOnly: boolean;
  /** `text` (render: YAML) or `json`. */
  readonly output: "text" | "json";
  readonly logLevel: LogLevel;
  readonly concurrency?: number;
  /** Seconds to wait for a held lock (default 0: refuse at once). */
  readonly waitForLock?: number;
  /** The lock's lease (default 60 s): a crashed run's lock is free this long after its last renewal. */
  readonly leaseSeconds?: number;
  /** The operation's options (an operation's command), by the descriptor's keys. */
  readonly request: Readonly<Record<string, unknown>>;
}

export type ParsedCli =
  | { readonly kind: "help"; readonly command?: Command | undefined }
  | { readonly kind: "version" }
  | { readonly kind: "run"; readonly command: Command; readonly options: CliOptions };

/** The flags of an operation's options: flag name -> [option key, value when given]. */
function optionFlags(
  operation: AnyOperation,
): Map<string, { key: string; option: OperationOption; value?: boolean }> {
  const flags = new Map<string, { key: string; option: OperationOption; value?: boolean }>();
  for (const [key, option] of Object.entries(operation.options as Record<string, OperationOption>)) {
    if (option.cli === false) continue;
    flags.set(option.cli, { key, option });
    if (option.negation !== undefined) flags.set(option.negation, { key, option, value: false });
  }
  return flags;
}

function isBooleanOption(option: OperationOption): boolean {
  return option.schema.safeParse(true).success && !option.schema.safeParse("x").success;
}

/** Every flag any command takes, as `parseArgs` wants them. */
function allFlags(): Record<string, CliFlag> {
  const flags: Record<string, CliFlag> = { mode: MODE_FLAG };
  for (const group of Object.values(FLAG_GROUPS)) Object.assign(flags, group.flags);
  for (const operation of OPERATIONS) {
    for (const [name, { option }] of optionFlags(operation)) {
      flags[name] = { type: isBooleanOption(option) ? "boolean" : "string", help: option.help };
    }
  }
  return flags;
}

const FLAGS = allFlags();

/** Every flag the parser accepts, by name. */
export const FLAG_NAMES: readonly string[] = Object.keys(FLAGS);

/** The flag names `command` takes. */
export function flagsOf(command: Command): Set<string> {
  const operation = findOperation(command);
  const groups: readonly CliFlagGroup[] = operation
    ? ["connection", "output", ...operation.flagGroups]
    : OTHER_COMMANDS[command as OtherCommand].groups;
  const names = new Set<string>(["mode", "help", "version"]);
  for (const group of groups) for (const name of Object.keys(FLAG_GROUPS[group].flags)) names.add(name);
  if (operation) { for (const name of optionFlags(operation).keys()) names.add(name); }
  else for (const name of OTHER_COMMANDS[command as OtherCommand].flags) names.add(name);
  return names;
}

/** The commands that take the flag `name`, for a usage error. */
function commandsWith(name: string): string[] {
  return COMMANDS.filter((command) => flagsOf(command).has(name));
}

/**
 * `--flag=true|false` for a boolean flag becomes `--flag` (true) or nothing (false, remembered): the
 * original DR-Syncer's CLI spelled its booleans that way.
 */
function explicitBooleans(argv: readonly string[]): { args: string[]; falses: Set<string> } {
  const args: string[] = [];
  const falses = new Set<string>();
  for (const word of argv) {
    const match = /^--([a-z][a-z0-9-]*)=(.*)$/s.exec(word);
    const flag = match ? FLAGS[match[1]!] : undefined;
    if (!match || flag?.type !== "boolean") {
      args.push(word);
      continue;
    }
    const value = match[2]!.toLowerCase();
    if (value === "true") args.push(`--${match[1]}`);
    else if (value === "false") falses.add(match[1]!);
    else throw new UsageError(`--${match[1]}: "${match[2]}" is not true or false`);
  }
  return { args, falses };
}

/** A comma-separated list of names; one that names nothing is a usage error (it would copy nothing). */
function list(flag: string, value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const items = value.split(",").map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new UsageError(`--${flag}: "${value}" names no resource type`);
  return items;
}

/** Parses `a=b,c=d`; names the flag and the bad pair when malformed. */
export function parseMap(flag: string, value: string | undefined): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const pair of value.split(",").map((s) => s.trim()).filter(Boolean)) {
    const m = /^([^=\s]+)=([^=\s]+)$/.exec(pair);
    if (!m) throw new UsageError(`--${flag}: "${pair}" is not of the form from=to`);
    out[m[1]!] = m[2]!;
  }
  return out;
}

function isCommand(value: string): value is Command {
  return COMMANDS.includes(value);
}

type Values = Record<string, string | boolean | undefined>;

/** The operation's options from the flags given, each checked by its schema. */
function requestOf(operation: AnyOperation, v: Values, falses: ReadonlySet<string>): Record<string, unknown> {
  const request: Record<string, unknown> = {};
  const setBy = new Map<string, string>();
  for (const [name, { key, option, value }] of optionFlags(operation)) {
    const raw = falses.has(name) ? (value === false ? undefined : false) : v[name];
    if (raw === undefined) continue;
    const given = value === false && raw === true ? false : raw;
    const earlier = setBy.get(key);
    if (earlier !== undefined && request[key] !== given) {
      throw new UsageError(`--${earlier} and --${name} contradict each other`);
    }
    const parsed = option.schema.safeParse(given);
    if (!parsed.success) {
      throw new UsageError(
        `--${name}: "${String(given)}" ${parsed.error.issues[0]?.message ?? "is not valid"}`,
      );
    }
    request[key] = parsed.data;
    setBy.set(key, name);
  }
  return request;
}

/** Parses the command line: `dr-syncer COMMAND [flags]` or the older `dr-syncer --mode=Stage|Cutover|Failback`. */
export function parseCliArgs(argv: readonly string[]): ParsedCli {
  const { args, falses } = explicitBooleans(argv);
  let parsed;
  try {
    parsed = parseArgs({ args, options: FLAGS, allowPositionals: true, strict: true });
  } catch (error) {
    const message = error instanceof Error ? error.message.replace(/\. To specify.*$/s, "") : String(error);
    throw new UsageError(message.replace(/^Unknown option '(.*)'$/, "Unknown flag $1"));
  }
  const v: Values = parsed.values;
  const positionals = parsed.positionals;
  if (v.version) return { kind: "version" };
  let command: Command | undefined;
  if (positionals.length > 0) {
    const word = positionals[0]!;
    if (!isCommand(word)) {
      throw new UsageError(`Unknown command "${word}" (commands: ${COMMANDS.join(", ")})`);
    }
    command = word;
    if (positionals.length > 1) throw new UsageError(`Unexpected argument "${positionals[1]}"`);
  }
  if (typeof v.mode === "string") {
    const mode = v.mode.toLowerCase();
    if (mode !== "stage" && mode !== "cutover" && mode !== "failback") {
      throw new UsageError(`--mode: "${v.mode}" is not one of Stage, Cutover, Failback`);
    }
    if (command && command !== mode) {
      throw new UsageError(`--mode=${v.mode} contradicts the command "${command}"`);
    }
    command = mode;
  }
  if (v.help) return { kind: "help", command };
  if (!command) return { kind: "help" };

  const allowed = flagsOf(command);
  if (command === "render" && (v["dry-run"] !== undefined || falses.has("dry-run"))) {
    throw new UsageError('render writes nothing: --dry-run is a flag of "deploy"');
  }
  for (const name of [...Object.keys(v), ...falses]) {
    if (allowed.has(name)) continue;
    const owners = commandsWith(name);
    throw new UsageError(
      `--${name} is a flag of ${owners.map((c) => `"${c}"`).join(", ")}, not of "${command}"`,
    );
  }
  const str = (name: string): string | undefined =>
    typeof v[name] === "string" ? v[name] as string : undefined;
  const bool = (name: string): boolean => v[name] === true;

  // render prints YAML where the other commands print text
  const rawOutput = str("output") ?? "text";
  const output = command === "render" && rawOutput === "yaml" ? "text" : rawOutput;
  if (output !== "text" && output !== "json") {
    throw new UsageError(
      `--output: "${rawOutput}" is not one of ${command === "render" ? "yaml, json" : "text, json"}`,
    );
  }
  const cluster = str("cluster");
  if (cluster !== undefined && !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(cluster)) {
    throw new UsageError(`--cluster: "${cluster}" is not a valid cluster name`);
  }
  const config = str("config");
  if ((command === "render" || command === "deploy") && config === undefined) {
    throw new UsageError(`${command} needs --config FILE`);
  }
  const logLevel = str("log-level") ?? "info";
  if (!isLogLevel(logLevel)) {
    throw new UsageError(`--log-level: "${logLevel}" is not one of debug, info, warn, error`);
  }
  const immutable = str("immutable");
  if (immutable !== undefined && immutable !== "report" && immutable !== "recreate") {
    throw new UsageError(`--immutable: "${immutable}" is not one of report, recreate`);
  }
  const whole = (flag: string, min: number, max: number, what = "a whole number"): number | undefined => {
    const text = str(flag);
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!/^\d+$/.test(text) || n < min || n > max) {
      throw new UsageError(`--${flag}: "${text}" is not ${what} from ${min} to ${max}`);
    }
    return n;
  };
  const concurrencyText = str("concurrency");
  if (concurrencyText !== undefined && !/^\d+$/.test(concurrencyText)) {
    throw new UsageError(`--concurrency: "${concurrencyText}" is not a whole number from 1 to 256`);
  }
  const concurrency = whole("concurrency", 1, 256);
  const waitForLock = whole("wait-for-lock", 0, 3600, "a whole number of seconds");
  const leaseSeconds = whole("lease-seconds", 3, 3600, "a whole number of seconds");
  const maxPrune = whole("max-prune", 0, 100_000);
  let bandwidthLimit: number | undefined;
  const bandwidth = str("bandwidth-limit");
  if (bandwidth !== undefined) {
    const limit = parseBandwidthLimit(bandwidth);
    if ("problem" in limit) throw new UsageError(`--bandwidth-limit: "${bandwidth}" ${limit.problem}`);
    bandwidthLimit = limit.kib;
  }
  const verify = str("verify");
  if (verify !== undefined && verify !== "none" && verify !== "sample" && verify !== "full") {
    throw new UsageError(`--verify: "${verify}" is not one of none, sample, full`);
  }
  const agentNamespace = str("agent-namespace");
  if (agentNamespace !== undefined && !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(agentNamespace)) {
    throw new UsageError(`--agent-namespace: "${agentNamespace}" is not a valid namespace name`);
  }
  const operation = findOperation(command);
  const request = operation ? requestOf(operation, v, falses) : {};
  const given = <K extends string, T>(key: K, value: T | undefined) =>
    value === undefined ? {} : { [key]: value } as Record<K, T>;
  const options: CliOptions = {
    ...given("sourceKubeconfig", str("source-kubeconfig")),
    ...given("destKubeconfig", str("dest-kubeconfig")),
    ...given("sourceContext", str("source-context")),
    ...given("destContext", str("dest-context")),
    ...given("sourceNamespace", str("source-namespace")),
    ...given("destNamespace", str("dest-namespace")),
    ...given("resourceTypes", list("resource-types", str("resource-types"))),
    ...given("excludeResourceTypes", list("exclude-resource-types", str("exclude-resource-types"))),
    includeCustomResources: bool("include-custom-resources"),
    syncCrds: bool("sync-crds"),
    ...given("agentNamespace", agentNamespace),
    ...given("mounterImage", str("mounter-image")),
    ...given("bandwidthLimit", bandwidthLimit),
    ...given("verify", verify as CliOptions["verify"]),
    ...given("storageClassMap", parseMap("storage-class-map", str("storage-class-map"))),
    ...given("accessModeMap", parseMap("access-mode-map", str("access-mode-map"))),
    ...given("ingressHostMap", parseMap("ingress-host-map", str("ingress-host-map"))),
    pruneClaims: bool("prune-claims"),
    ...given("maxPrune", maxPrune),
    adopt: bool("adopt"),
    ...given("immutable", immutable as CliOptions["immutable"]),
    ...(bool("no-scale-to-zero") ? { scaleToZero: false } : {}),
    ...given("config", config),
    ...given("replication", str("replication")),
    ...given("cluster", cluster),
    dryRun: operation ? request.dryRun === true : bool("dry-run"),
    keysOnly: bool("keys-only"),
    output,
    logLevel,
    ...given("concurrency", concurrency),
    ...given("waitForLock", waitForLock),
    ...given("leaseSeconds", leaseSeconds),
    request,
  };
  return { kind: "run", command, options };
}
