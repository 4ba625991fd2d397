import { parseArgs } from "node:util";
import { InvalidInputError } from "../../shared/errors.ts";
import { isLogLevel, type LogLevel } from "../../shared/log/logger.ts";
import { parseBandwidthLimit } from "../../shared/config/mod.ts";

export const COMMANDS = [
  "stage",
  "cutover",
  "failback",
  "fence",
  "pvc-sync",
  "status",
  "validate",
  "render",
  "deploy",
  "demo",
] as const;
export type Command = (typeof COMMANDS)[number];

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
  readonly migratePvcData: boolean;
  readonly reverseMigratePvcData: boolean;
  /** pvc-sync: copy back to the source (after a cutover) instead of to DR. */
  readonly toSource: boolean;
  readonly agentNamespace?: string;
  readonly mounterImage?: string;
  /** KiB/s. */
  readonly bandwidthLimit?: number;
  readonly verify?: "none" | "sample" | "full";
  readonly storageClassMap?: Record<string, string>;
  readonly accessModeMap?: Record<string, string>;
  readonly ingressHostMap?: Record<string, string>;
  readonly prune?: boolean;
  readonly pruneClaims: boolean;
  readonly maxPrune?: number;
  readonly adopt: boolean;
  readonly dryRun: boolean;
  readonly force: boolean;
  readonly allowSourceUnavailable: boolean;
  readonly acceptStale: boolean;
  readonly useDrCounts: boolean;
  readonly allowDrUnavailable: boolean;
  readonly immutable?: "report" | "recreate";
  readonly scaleToZero?: boolean;
  readonly config?: string;
  readonly replication?: string;
  /** render: only this cluster's objects. */
  readonly cluster?: string;
  /** `text` (render: YAML) or `json`. */
  readonly output: "text" | "json";
  readonly logLevel: LogLevel;
  readonly concurrency?: number;
  /** Seconds to wait for a held lock (default 0: refuse at once). */
  readonly waitForLock?: number;
  /** The lock's lease (default 60 s): a crashed run's lock is free this long after its last renewal. */
  readonly leaseSeconds?: number;
}

export type ParsedCli =
  | { readonly kind: "help"; readonly command?: Command | undefined }
  | { readonly kind: "version" }
  | { readonly kind: "run"; readonly command: Command; readonly options: CliOptions };

const FLAGS = {
  "source-kubeconfig": { type: "string" },
  "dest-kubeconfig": { type: "string" },
  "source-context": { type: "string" },
  "dest-context": { type: "string" },
  "source-namespace": { type: "string" },
  "dest-namespace": { type: "string" },
  "resource-types": { type: "string" },
  "exclude-resource-types": { type: "string" },
  "include-custom-resources": { type: "boolean" },
  "sync-crds": { type: "boolean" },
  "migrate-pvc-data": { type: "boolean" },
  "reverse-migrate-pvc-data": { type: "boolean" },
  "to-source": { type: "boolean" },
  "agent-namespace": { type: "string" },
  "mounter-image": { type: "string" },
  "bandwidth-limit": { type: "string" },
  "verify": { type: "string" },
  "storage-class-map": { type: "string" },
  "access-mode-map": { type: "string" },
  "ingress-host-map": { type: "string" },
  "prune": { type: "boolean" },
  "no-prune": { type: "boolean" },
  "prune-claims": { type: "boolean" },
  "max-prune": { type: "string" },
  "adopt": { type: "boolean" },
  "dry-run": { type: "boolean" },
  "force": { type: "boolean" },
  "allow-source-unavailable": { type: "boolean" },
  "accept-stale": { type: "boolean" },
  "use-dr-counts": { type: "boolean" },
  "allow-dr-unavailable": { type: "boolean" },
  "immutable": { type: "string" },
  "no-scale-to-zero": { type: "boolean" },
  "config": { type: "string" },
  "replication": { type: "string" },
  "cluster": { type: "string" },
  "output": { type: "string", short: "o" },
  "log-level": { type: "string" },
  "concurrency": { type: "string" },
  "wait-for-lock": { type: "string" },
  "lease-seconds": { type: "string" },
  "mode": { type: "string" },
  "help": { type: "boolean", short: "h" },
  "version": { type: "boolean" },
} as const;

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
  return (COMMANDS as readonly string[]).includes(value);
}

/** Parses the command line: `dr-syncer COMMAND [flags]` or the older `dr-syncer --mode=Stage|Cutover|Failback`. */
export function parseCliArgs(argv: readonly string[]): ParsedCli {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: FLAGS, allowPositionals: true, strict: true });
  } catch (error) {
    const message = error instanceof Error ? error.message.replace(/\. To specify.*$/s, "") : String(error);
    throw new UsageError(message.replace(/^Unknown option '(.*)'$/, "Unknown flag $1"));
  }
  const v = parsed.values;
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
  if (v.mode !== undefined) {
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

  // render prints YAML where the other commands print text
  const rawOutput = v.output ?? "text";
  const output = command === "render" && rawOutput === "yaml" ? "text" : rawOutput;
  if (output !== "text" && output !== "json") {
    throw new UsageError(
      `--output: "${rawOutput}" is not one of ${command === "render" ? "yaml, json" : "text, json"}`,
    );
  }
  if (v.cluster !== undefined) {
    if (command !== "render") throw new UsageError(`--cluster is a flag of "render", not of "${command}"`);
    if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(v.cluster)) {
      throw new UsageError(`--cluster: "${v.cluster}" is not a valid cluster name`);
    }
  }
  if ((command === "render" || command === "deploy") && v.config === undefined) {
    throw new UsageError(`${command} needs --config FILE`);
  }
  if (command === "render" && v["dry-run"]) {
    throw new UsageError('render writes nothing: --dry-run is a flag of "deploy"');
  }
  const logLevel = v["log-level"] ?? "info";
  if (!isLogLevel(logLevel)) {
    throw new UsageError(`--log-level: "${logLevel}" is not one of debug, info, warn, error`);
  }
  const immutable = v.immutable;
  if (immutable !== undefined && immutable !== "report" && immutable !== "recreate") {
    throw new UsageError(`--immutable: "${immutable}" is not one of report, recreate`);
  }
  let concurrency: number | undefined;
  if (v.concurrency !== undefined) {
    concurrency = Number(v.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) {
      throw new UsageError(`--concurrency: "${v.concurrency}" is not a whole number from 1 to 256`);
    }
  }
  const seconds = (flag: "wait-for-lock" | "lease-seconds", min: number): number | undefined => {
    const text = v[flag];
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!/^\d+$/.test(text) || n < min || n > 3600) {
      throw new UsageError(`--${flag}: "${text}" is not a whole number of seconds from ${min} to 3600`);
    }
    return n;
  };
  const waitForLock = seconds("wait-for-lock", 0);
  const leaseSeconds = seconds("lease-seconds", 3);
  let maxPrune: number | undefined;
  if (v["max-prune"] !== undefined) {
    maxPrune = Number(v["max-prune"]);
    if (!/^\d+$/.test(v["max-prune"]) || maxPrune > 100_000) {
      throw new UsageError(`--max-prune: "${v["max-prune"]}" is not a whole number from 0 to 100000`);
    }
  }
  let bandwidthLimit: number | undefined;
  if (v["bandwidth-limit"] !== undefined) {
    const parsed = parseBandwidthLimit(v["bandwidth-limit"]);
    if ("problem" in parsed) {
      throw new UsageError(`--bandwidth-limit: "${v["bandwidth-limit"]}" ${parsed.problem}`);
    }
    bandwidthLimit = parsed.kib;
  }
  const verify = v.verify;
  if (verify !== undefined && verify !== "none" && verify !== "sample" && verify !== "full") {
    throw new UsageError(`--verify: "${verify}" is not one of none, sample, full`);
  }
  if (
    v["agent-namespace"] !== undefined && !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(v["agent-namespace"])
  ) {
    throw new UsageError(`--agent-namespace: "${v["agent-namespace"]}" is not a valid namespace name`);
  }
  if (v.prune && v["no-prune"]) throw new UsageError("--prune and --no-prune contradict each other");
  if (v.replication !== undefined && v.config === undefined && command !== "demo") {
    // a name for a flag-defined replication: allowed
  }
  const options: CliOptions = {
    ...(v["source-kubeconfig"] !== undefined ? { sourceKubeconfig: v["source-kubeconfig"] } : {}),
    ...(v["dest-kubeconfig"] !== undefined ? { destKubeconfig: v["dest-kubeconfig"] } : {}),
    ...(v["source-context"] !== undefined ? { sourceContext: v["source-context"] } : {}),
    ...(v["dest-context"] !== undefined ? { destContext: v["dest-context"] } : {}),
    ...(v["source-namespace"] !== undefined ? { sourceNamespace: v["source-namespace"] } : {}),
    ...(v["dest-namespace"] !== undefined ? { destNamespace: v["dest-namespace"] } : {}),
    ...(v["resource-types"] !== undefined
      ? { resourceTypes: list("resource-types", v["resource-types"])! }
      : {}),
    ...(v["exclude-resource-types"] !== undefined
      ? { excludeResourceTypes: list("exclude-resource-types", v["exclude-resource-types"])! }
      : {}),
    includeCustomResources: v["include-custom-resources"] ?? false,
    syncCrds: v["sync-crds"] ?? false,
    migratePvcData: v["migrate-pvc-data"] ?? false,
    reverseMigratePvcData: v["reverse-migrate-pvc-data"] ?? false,
    toSource: v["to-source"] ?? false,
    ...(v["agent-namespace"] !== undefined ? { agentNamespace: v["agent-namespace"] } : {}),
    ...(v["mounter-image"] !== undefined ? { mounterImage: v["mounter-image"] } : {}),
    ...(bandwidthLimit !== undefined ? { bandwidthLimit } : {}),
    ...(verify !== undefined ? { verify } : {}),
    ...(v["storage-class-map"] !== undefined
      ? { storageClassMap: parseMap("storage-class-map", v["storage-class-map"])! }
      : {}),
    ...(v["access-mode-map"] !== undefined
      ? { accessModeMap: parseMap("access-mode-map", v["access-mode-map"])! }
      : {}),
    ...(v["ingress-host-map"] !== undefined
      ? { ingressHostMap: parseMap("ingress-host-map", v["ingress-host-map"])! }
      : {}),
    ...(v.prune ? { prune: true } : v["no-prune"] ? { prune: false } : {}),
    pruneClaims: v["prune-claims"] ?? false,
    ...(maxPrune !== undefined ? { maxPrune } : {}),
    adopt: v.adopt ?? false,
    dryRun: v["dry-run"] ?? false,
    force: v.force ?? false,
    allowSourceUnavailable: v["allow-source-unavailable"] ?? false,
    acceptStale: v["accept-stale"] ?? false,
    useDrCounts: v["use-dr-counts"] ?? false,
    allowDrUnavailable: v["allow-dr-unavailable"] ?? false,
    ...(immutable !== undefined ? { immutable } : {}),
    ...(v["no-scale-to-zero"] ? { scaleToZero: false } : {}),
    ...(v.config !== undefined ? { config: v.config } : {}),
    ...(v.replication !== undefined ? { replication: v.replication } : {}),
    ...(v.cluster !== undefined ? { cluster: v.cluster } : {}),
    output,
    logLevel,
    ...(concurrency !== undefined ? { concurrency } : {}),
    ...(waitForLock !== undefined ? { waitForLock } : {}),
    ...(leaseSeconds !== undefined ? { leaseSeconds } : {}),
  };
  return { kind: "run", command, options };
}
