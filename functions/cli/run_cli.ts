import { isUnreachable } from "../../shared/kube/kube_api_error.ts";
import type { KubeClient } from "../../shared/kube/kube_client.ts";
import { connectCluster } from "../../shared/kube/connect_cluster.ts";
import { KubeconfigError, type KubeconfigSource } from "../../shared/kube/load_kube_config.ts";
import { createTextLogger, type Logger } from "../../shared/log/logger.ts";
import type { RunReport } from "../../shared/sync/contracts.ts";
import { readReplicationState } from "../../shared/sync/replication_lock.ts";
import { type ReplicationSpec, replicationSpec } from "../../shared/sync/replication_spec.ts";
import {
  UnknownResourceTypeError,
  UnsupportedResourceTypeError,
} from "../../shared/sync/resolve_resource_types.ts";
import { ConfigError, ReplicationNotFoundError } from "../../shared/config/mod.ts";
import { SameNamespaceError, type SyncProgress } from "../../shared/sync/sync_namespace.ts";
import { cutover } from "../cutover.ts";
import { failback } from "../failback.ts";
import type { OperationDeps } from "../operation_deps.ts";
import { stage } from "../stage.ts";
import { helpText } from "./help_text.ts";
import { type CliOptions, type Command, parseCliArgs, UsageError } from "./parse_cli_args.ts";
import { formatReport } from "./print_report.ts";
import { resolveFromConfig, validateConfigFile } from "./replication_from_config.ts";

export const VERSION = "0.1.0";

/** Where the CLI reads and writes; `main` uses the process's, tests capture them. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: (name: string) => string | undefined;
  readonly stderrIsTerminal: boolean;
}

/** A replication and where its two clusters' credentials come from. */
export interface ResolvedReplication {
  readonly spec: ReplicationSpec;
  readonly source: KubeconfigSource;
  readonly dest: KubeconfigSource;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function checkName(flag: string, value: string): string {
  if (!DNS_LABEL.test(value)) {
    throw new UsageError(
      `--${flag}: "${value}" is not a valid namespace name (lowercase letters, digits and "-", at most 63)`,
    );
  }
  return value;
}

function fromFlags(o: CliOptions): ResolvedReplication {
  const missing = [
    o.sourceKubeconfig === undefined ? "--source-kubeconfig" : "",
    o.destKubeconfig === undefined ? "--dest-kubeconfig" : "",
    o.sourceNamespace === undefined ? "--source-namespace" : "",
  ].filter(Boolean);
  if (missing.length > 0) {
    throw new UsageError(`Missing ${missing.join(", ")} (or use --config FILE --replication NAME)`);
  }
  const sourceNamespace = checkName("source-namespace", o.sourceNamespace!);
  const destNamespace = checkName("dest-namespace", o.destNamespace ?? sourceNamespace);
  const name = o.replication ?? sourceNamespace;
  if (!DNS_LABEL.test(name)) throw new UsageError(`--replication: "${name}" is not a valid name`);
  return {
    spec: replicationSpec({
      name,
      sourceNamespace,
      destNamespace,
      ...specFlags(o),
    }),
    source: { path: o.sourceKubeconfig!, context: o.sourceContext },
    dest: { path: o.destKubeconfig!, context: o.destContext },
  };
}

/** The replication options given as flags (they override a configured replication's). */
function specFlags(o: CliOptions): Partial<ReplicationSpec> {
  return {
    ...(o.resourceTypes ? { resourceTypes: o.resourceTypes } : {}),
    ...(o.excludeResourceTypes ? { excludeResourceTypes: o.excludeResourceTypes } : {}),
    ...(o.includeCustomResources ? { includeCustomResources: true } : {}),
    ...(o.syncCrds ? { syncCRDs: true } : {}),
    ...(o.scaleToZero !== undefined ? { scaleToZero: o.scaleToZero } : {}),
    ...(o.prune !== undefined ? { prune: o.prune } : {}),
    ...(o.immutable ? { immutable: o.immutable } : {}),
    ...(o.storageClassMap ? { storageClassMap: o.storageClassMap } : {}),
    ...(o.accessModeMap ? { accessModeMap: o.accessModeMap } : {}),
    ...(o.ingressHostMap ? { ingressHostMap: o.ingressHostMap } : {}),
  };
}

export async function resolveReplication(o: CliOptions, io: CliIo): Promise<ResolvedReplication> {
  if (o.config === undefined) return fromFlags(o);
  if (o.replication === undefined) throw new UsageError("--config needs --replication NAME");
  const configured = await resolveFromConfig(o.config, o.replication, io.env);
  return { ...configured, spec: { ...configured.spec, ...specFlags(o) } };
}

/** A progress line on stderr: redrawn in place on a terminal, one line every few seconds otherwise. */
export function progressPrinter(io: CliIo): { update: (p: SyncProgress) => void; end: () => void } {
  let last = 0;
  let drawn = false;
  return {
    update(p) {
      const text = p.phase === "reading"
        ? `reading ${p.done}/${p.total} resource lists`
        : `writing ${p.done}/${p.total} objects`;
      if (io.stderrIsTerminal) {
        io.stderr(`\r\x1b[2K${text}`);
        drawn = true;
        return;
      }
      const t = Date.now();
      if (p.done === p.total || t - last > 2000) {
        last = t;
        io.stderr(`${text}\n`);
      }
    },
    end() {
      if (drawn) io.stderr("\r\x1b[2K");
      drawn = false;
    },
  };
}

export async function runOperation(
  command: "stage" | "cutover" | "failback",
  deps: OperationDeps,
  spec: ReplicationSpec,
  o: CliOptions,
): Promise<RunReport> {
  switch (command) {
    case "stage":
      return await stage(deps, {
        replication: spec,
        dryRun: o.dryRun,
        force: o.force,
        ...(o.prune !== undefined ? { prune: o.prune } : {}),
      });
    case "cutover":
      return await cutover(deps, {
        replication: spec,
        dryRun: o.dryRun,
        allowSourceUnavailable: o.allowSourceUnavailable,
        force: o.force,
      });
    case "failback":
      return await failback(deps, { replication: spec, dryRun: o.dryRun, force: o.force });
  }
}

/** Exit code and one-line message for an error that stopped a command. */
export function errorExit(error: unknown): { code: number; message: string } {
  const message = error instanceof Error ? error.message : String(error);
  const usage = error instanceof UsageError || error instanceof KubeconfigError ||
    error instanceof UnknownResourceTypeError || error instanceof UnsupportedResourceTypeError ||
    error instanceof ConfigError || error instanceof ReplicationNotFoundError ||
    error instanceof SameNamespaceError;
  return { code: usage ? 2 : 1, message: message.split("\n")[0] ?? message };
}

async function connectBoth(
  r: ResolvedReplication,
  io: CliIo,
): Promise<{ source: KubeClient; dr: KubeClient }> {
  const source = await connectCluster(r.spec.sourceCluster, r.source, { readEnv: io.env });
  try {
    const dr = await connectCluster(r.spec.destCluster, r.dest, { readEnv: io.env });
    return { source, dr };
  } catch (error) {
    source.close();
    throw error;
  }
}

async function runCommand(command: Command, o: CliOptions, io: CliIo, logger: Logger): Promise<number> {
  if (command === "demo") {
    const { runDemo } = await import("./demo.ts");
    return await runDemo(o, io, logger);
  }
  if (command === "validate") {
    if (o.config === undefined) throw new UsageError("validate needs --config FILE");
    io.stdout(`${await validateConfigFile(o.config, io.env)}\n`);
    return 0;
  }
  if (command === "pvc-sync" || o.migratePvcData || o.reverseMigratePvcData) {
    io.stderr("error: PVC data sync is not available in this version yet (nothing was done)\n");
    return 1;
  }
  const resolved = await resolveReplication(o, io);
  const { source, dr } = await connectBoth(resolved, io);
  try {
    if (command === "status") {
      const state = await readReplicationState(dr, resolved.spec.destNamespace);
      io.stdout(
        o.output === "json"
          ? `${JSON.stringify(state, null, 2)}\n`
          : `${formatState(resolved.spec, state)}\n`,
      );
      return 0;
    }
    const progress = progressPrinter(io);
    const deps: OperationDeps = {
      source,
      dr,
      logger,
      onProgress: progress.update,
      ...(o.concurrency ? { concurrency: o.concurrency } : {}),
    };
    let report: RunReport;
    try {
      report = await runOperation(command, deps, resolved.spec, o);
    } catch (error) {
      progress.end();
      const { code, message } = errorExit(error);
      const writes = source.stats.writes + dr.stats.writes;
      io.stderr(`error: ${message}\n`);
      io.stderr(
        writes === 0
          ? "Nothing was written.\n"
          : `${writes} write request(s) were sent before this error; running the same command again finishes the job.\n`,
      );
      return code;
    }
    progress.end();
    io.stdout(o.output === "json" ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
    return report.status === "succeeded" ? 0 : 1;
  } finally {
    source.close();
    dr.close();
  }
}

function formatState(spec: ReplicationSpec, state: Awaited<ReturnType<typeof readReplicationState>>): string {
  const lines = [
    `replication "${spec.name}": ${spec.sourceCluster}/${spec.sourceNamespace} -> ${spec.destCluster}/${spec.destNamespace}`,
    `  active side: ${state.activeSide}`,
  ];
  if (state.progress) {
    lines.push(
      `  unfinished ${state.progress.operation}: done ${state.progress.steps.join(", ") || "nothing"}`,
    );
  }
  if (state.lastRun) {
    lines.push(
      `  last run: ${state.lastRun.operation} ${state.lastRun.status} at ${state.lastRun.finishedAt}`,
    );
  }
  for (const [op, at] of Object.entries(state.lastSuccess)) lines.push(`  last successful ${op}: ${at}`);
  return lines.join("\n");
}

/** Runs the CLI; returns the exit code (0 success, 1 failure, 2 bad usage). */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseCliArgs(argv);
  } catch (error) {
    io.stderr(`error: ${errorExit(error).message}\nRun "dr-syncer --help" for usage.\n`);
    return 2;
  }
  if (parsed.kind === "version") {
    io.stdout(`dr-syncer ${VERSION}\n`);
    return 0;
  }
  if (parsed.kind === "help") {
    io.stdout(`${helpText(parsed.command)}\n`);
    return 0;
  }
  const logger = createTextLogger({
    write: (line) => io.stderr(`${line}\n`),
    level: parsed.options.logLevel,
  });
  try {
    return await runCommand(parsed.command, parsed.options, io, logger);
  } catch (error) {
    const { code, message } = errorExit(error);
    io.stderr(`error: ${message}\n`);
    if (isUnreachable(error)) {
      io.stderr("Check that the cluster is up and that the kubeconfig points at it.\n");
    }
    return code;
  }
}
