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
import type { Config } from "../../shared/config/mod.ts";
import { InvalidInputError } from "../../shared/errors.ts";
import type { Logger } from "../../shared/log/mod.ts";
import { readConfigFile } from "../operations/mod.ts";
import { createRuntime, type Runtime } from "./runtime.ts";

export const ENV_CONFIG = "DR_SYNCER_CONFIG";

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

/** The config file to use (`--config`, else `DR_SYNCER_CONFIG`). */
export function configPathFrom(options: Pick<RuntimeFromEnvOptions, "configPath" | "readEnv">): string {
  const path = options.configPath ?? options.readEnv(ENV_CONFIG);
  if (!path) throw new InvalidInputError(`No config: pass --config FILE or set ${ENV_CONFIG}`);
  return path;
}

export async function runtimeFromEnv(
  options: RuntimeFromEnvOptions,
): Promise<{ config: Config; runtime: Runtime }> {
  const { readEnv, logger } = options;
  const config = await readConfigFile(configPathFrom(options));
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
  return { config, runtime };
}
