import { loadConfigFile } from "../../shared/config/mod.ts";
import { describeKubeconfigSource } from "../../shared/kube/load_kube_config.ts";

/** Checks a config file; returns a summary of what it defines (a bad file throws `ConfigError`). */
export async function validateConfigFile(path: string): Promise<string> {
  const config = await loadConfigFile(path);
  const lines = [`${path}: valid`];
  for (const c of config.clusters) {
    lines.push(`  cluster ${c.name}: kubeconfig from ${describeKubeconfigSource(c.kubeconfig)}`);
  }
  for (const r of config.replications) {
    const when = r.mode === "scheduled" ? `scheduled "${r.schedule}"` : r.mode;
    lines.push(
      `  replication ${r.name}: ${r.source.cluster}/${r.source.namespace} -> ${r.destination.cluster}/${r.destination.namespace} (${when})`,
    );
  }
  return lines.join("\n");
}
