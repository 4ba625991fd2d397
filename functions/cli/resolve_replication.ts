/** The replication a command runs, from flags or from a config file, with where its credentials come from. */
import { findReplication, replicationSpecFromConfig } from "../../shared/config/mod.ts";
import type { ConfiguredCluster } from "../../shared/credentials/mod.ts";
import {
  DEFAULT_PVC_DATA,
  type ReplicationSpec,
  replicationSpec,
} from "../../shared/plan/replication_spec.ts";
import { readConfigFile } from "../operations/mod.ts";
import { type CliOptions, UsageError } from "./parse_cli_args.ts";

/** A replication and where its two clusters' credentials come from. */
export interface ResolvedReplication {
  readonly spec: ReplicationSpec;
  readonly source: ConfiguredCluster;
  readonly dest: ConfiguredCluster;
  /** The configured schedule (scheduled replications of a config file): what the RPO is measured against. */
  readonly schedule?: string | undefined;
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

/** The replication options given as flags (they override a configured replication's). */
export function specFlags(
  o: CliOptions,
  base: ReplicationSpec["pvcData"] = DEFAULT_PVC_DATA,
): Partial<ReplicationSpec> {
  const pvcFlags = {
    ...(o.agentNamespace !== undefined ? { agentNamespace: o.agentNamespace } : {}),
    ...(o.mounterImage !== undefined ? { mounterImage: o.mounterImage } : {}),
    ...(o.bandwidthLimit !== undefined ? { bandwidthLimitKiB: o.bandwidthLimit } : {}),
    ...(o.verify !== undefined ? { verify: o.verify } : {}),
  };
  return {
    ...(Object.keys(pvcFlags).length > 0 ? { pvcData: { ...base, ...pvcFlags } } : {}),
    ...(o.resourceTypes ? { resourceTypes: o.resourceTypes } : {}),
    ...(o.excludeResourceTypes ? { excludeResourceTypes: o.excludeResourceTypes } : {}),
    ...(o.includeCustomResources ? { includeCustomResources: true } : {}),
    ...(o.syncCrds ? { syncCRDs: true } : {}),
    ...(o.scaleToZero !== undefined ? { scaleToZero: o.scaleToZero } : {}),
    ...(o.pruneClaims ? { pruneClaims: true } : {}),
    ...(o.maxPrune !== undefined ? { maxPrune: o.maxPrune } : {}),
    ...(o.adopt ? { adopt: true } : {}),
    ...(o.immutable ? { immutable: o.immutable } : {}),
    ...(o.storageClassMap ? { storageClassMap: o.storageClassMap } : {}),
    ...(o.accessModeMap ? { accessModeMap: o.accessModeMap } : {}),
    ...(o.ingressHostMap ? { ingressHostMap: o.ingressHostMap } : {}),
  };
}

/** The replication the flags describe (bad or missing flags: `UsageError`). */
export function replicationFromFlags(o: CliOptions): ResolvedReplication {
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
    spec: replicationSpec({ name, sourceNamespace, destNamespace, ...specFlags(o) }),
    source: { kubeconfig: { path: o.sourceKubeconfig!, context: o.sourceContext } },
    dest: { kubeconfig: { path: o.destKubeconfig!, context: o.destContext } },
  };
}

/** The replication of the flags, or the configured one they name (flags override its options). */
export async function resolveReplication(o: CliOptions): Promise<ResolvedReplication> {
  if (o.config === undefined) return replicationFromFlags(o);
  if (o.replication === undefined) throw new UsageError("--config needs --replication NAME");
  const config = await readConfigFile(o.config);
  const replication = findReplication(config, o.replication);
  const cluster = (n: string) => config.clusters.find((c) => c.name === n)!;
  return {
    spec: (() => {
      const configured = replicationSpecFromConfig(replication, config.agent);
      return { ...configured, ...specFlags(o, configured.pvcData) };
    })(),
    source: cluster(replication.source.cluster),
    dest: cluster(replication.destination.cluster),
    ...(replication.mode === "scheduled" ? { schedule: replication.schedule } : {}),
  };
}
