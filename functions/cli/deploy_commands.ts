/**
 * `dr-syncer render` and `dr-syncer deploy`: the infra of a config, printed or applied. render reads no
 * cluster: a config whose custom types only a cluster can name is refused with what to do; deploy reads them
 * from the clusters' discovery. `deploy --keys-only` makes only the keys and credentials deploy makes
 * imperatively (for the Helm chart, `infra/chart/`). What the user should know besides the objects (the
 * CronJob form's limits) goes to stderr as `note:` lines.
 */
import { readConfigFile } from "../operations/mod.ts";
import type { KubeClient } from "../../shared/kube/kube_client.ts";
import { connectConfiguredCluster } from "../../shared/credentials/mod.ts";
import type { Logger } from "../../shared/log/logger.ts";
import { checkDeployable, renderConfig, renderNotes, renderYaml } from "../../infra/render.ts";
import { deployConfig, deployCredentials, formatDeployReport } from "../deploy.ts";
import type { CliIo } from "./cli_io.ts";
import type { CliOptions } from "./parse_cli_args.ts";

export async function runRender(o: CliOptions, io: CliIo): Promise<number> {
  const config = await readConfigFile(o.config!);
  const rendered = renderConfig(config, o.cluster);
  for (const note of renderNotes(config)) io.stderr(`note: ${note}\n`);
  io.stdout(
    o.output === "json"
      ? `${
        JSON.stringify(
          { clusters: rendered.map((r) => ({ cluster: r.cluster, runtime: r.runtime, objects: r.objects })) },
          null,
          2,
        )
      }\n`
      : renderYaml(rendered),
  );
  return 0;
}

/**
 * `deploy`, or with `--keys-only` only the keys and credentials
 * (`deployCredentials`).
 */
export async function runDeploy(
  o: CliOptions,
  io: CliIo,
  logger: Logger,
): Promise<number> {
  const config = await readConfigFile(o.config!);
  // checked before any cluster is contacted (the custom types discovery names are checked once it is read)
  checkDeployable(config);
  const clients = new Map<string, KubeClient>();
  try {
    for (const cluster of config.clusters) {
      clients.set(
        cluster.name,
        await connectConfiguredCluster(cluster.name, cluster, { readEnv: io.env }),
      );
    }
    const report = await (o.keysOnly ? deployCredentials : deployConfig)(config, {
      clients,
      dryRun: o.dryRun,
      readEnv: io.env,
      logger,
    });
    io.stdout(
      o.output === "json" ? `${JSON.stringify(report, null, 2)}\n` : `${formatDeployReport(report)}\n`,
    );
    return 0;
  } finally {
    for (const client of clients.values()) client.close();
  }
}
