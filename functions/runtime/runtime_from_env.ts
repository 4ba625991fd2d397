/**
 * The runtime as a process builds it from its settings: the config file (`--config`, else
 * `DR_SYNCER_CONFIG`) and the environment:
 *
 * - `DR_SYNCER_CREDENTIALS_REFRESH_SECONDS`: how often tokens and kubeconfigs are read again (60);
 * - `DR_SYNCER_LEASE_SECONDS`: the replication lock's lease (60);
 * - `DR_SYNCER_RUNS_KEPT`: run records kept per replication in the DR cluster (20);
 * - `KUBERNETES_SERVICE_HOST`/`_PORT`, `DR_SYNCER_SERVICEACCOUNT_DIR`, `DR_SYNCER_SECRETS_KUBECONFIG`:
 *   how Secrets are read (see `secret_client_from_env.ts`).
 */
import { type Config, loadConfig } from "../../shared/config/mod.ts";
import { InvalidInputError } from "../../shared/errors.ts";
import type { Logger } from "../../shared/log/mod.ts";
import { CONFIG_OPTIONS, readConfigFile } from "../operations/mod.ts";
import { ENV_SECRETS_KUBECONFIG } from "./secret_client_from_env.ts";
import { createRuntime, type Runtime } from "./runtime.ts";

export const ENV_CONFIG = "DR_SYNCER_CONFIG";
/** The config's text itself (for hosts that give a function environment variables and no files). */
export const ENV_CONFIG_YAML = "DR_SYNCER_CONFIG_YAML";

function positive(readEnv: (name: string) => string | undefined, name: string): number | undefined {
  const raw = readEnv(name);
  if (raw === undefined || raw === "") return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    throw new InvalidInputError(`${name}: "${raw}" is not a positive number`);
  }
  return value;
}

export interface RuntimeFromEnvOptions {
  readonly configPath?: string | undefined;
  readonly readEnv: (name: string) => string | undefined;
  readonly logger: Logger;
}

/** The name of the cluster the runtime runs in, when it reads the dr-syncer.io objects there. */
export const LOCAL_CLUSTER = "local";

/**
 * The config file to use (`--config`, else `DR_SYNCER_CONFIG`); without one, the runtime may still run
 * from the dr-syncer.io objects of the cluster it runs in (in a pod, or with `DR_SYNCER_SECRETS_KUBECONFIG`).
 */
export function configPathFrom(
  options: Pick<RuntimeFromEnvOptions, "configPath" | "readEnv">,
): string | undefined {
  const path = options.configPath ?? options.readEnv(ENV_CONFIG);
  if (path) return path;
  if (options.readEnv(ENV_CONFIG_YAML)) return undefined;
  if (options.readEnv("KUBERNETES_SERVICE_HOST") || options.readEnv(ENV_SECRETS_KUBECONFIG)) return undefined;
  throw new InvalidInputError(
    `No config: pass --config FILE or set ${ENV_CONFIG} (a file) or ${ENV_CONFIG_YAML} (its text), or run in a cluster, where the dr-syncer.io objects are read`,
  );
}

export async function runtimeFromEnv(
  options: RuntimeFromEnvOptions,
): Promise<{ config: Config; runtime: Runtime; configPath: string | undefined }> {
  const { readEnv, logger } = options;
  const configPath = configPathFrom(options);
  const text = configPath === undefined ? readEnv(ENV_CONFIG_YAML) : undefined;
  const config = configPath !== undefined
    ? await readConfigFile(configPath)
    : text
    ? loadConfig(text, ENV_CONFIG_YAML, CONFIG_OPTIONS)
    // no file: the cluster the runtime runs in, the only one until the dr-syncer.io objects name others
    : loadConfig(
      JSON.stringify({ clusters: [{ name: LOCAL_CLUSTER, kubeconfig: { inCluster: true } }] }),
      "(no config file)",
      CONFIG_OPTIONS,
    );
  const refresh = positive(readEnv, "DR_SYNCER_CREDENTIALS_REFRESH_SECONDS");
  const lease = positive(readEnv, "DR_SYNCER_LEASE_SECONDS");
  const kept = positive(readEnv, "DR_SYNCER_RUNS_KEPT");
  const runtime = await createRuntime({
    config,
    logger,
    readEnv,
    credentialsRefreshMs: refresh === undefined ? undefined : refresh * 1000,
    leaseSeconds: lease === undefined ? undefined : Math.round(lease),
    runsKept: kept === undefined ? undefined : Math.round(kept),
  });
  return { config, runtime, configPath };
}
