import { readConfigFile } from "../operations/mod.ts";
import { describeClusterSource } from "../../shared/credentials/mod.ts";

/**
 * Checks a config file; returns a summary of what it defines, as text or as a JSON document (a bad
 * file throws `ConfigError`, which lists every problem at once).
 */
export async function validateConfigFile(path: string, output: "text" | "json" = "text"): Promise<string> {
  const config = await readConfigFile(path);
  if (output === "json") {
    return JSON.stringify(
      {
        status: "valid",
        file: path,
        clusters: config.clusters.map((c) => ({
          name: c.name,
          kubeconfig: describeClusterSource(c.kubeconfig),
        })),
        replications: config.replications.map((r) => ({
          name: r.name,
          source: r.source,
          destination: r.destination,
          mode: r.mode,
          ...(r.schedule ? { schedule: r.schedule } : {}),
        })),
      },
      null,
      2,
    );
  }
  const lines = [`${path}: valid`];
  for (const c of config.clusters) {
    lines.push(`  cluster ${c.name}: kubeconfig from ${describeClusterSource(c.kubeconfig)}`);
  }
  for (const r of config.replications) {
    const when = r.mode === "scheduled" ? `scheduled "${r.schedule}"` : r.mode;
    lines.push(
      `  replication ${r.name}: ${r.source.cluster}/${r.source.namespace} -> ${r.destination.cluster}/${r.destination.namespace} (${when})`,
    );
  }
  return lines.join("\n");
}
