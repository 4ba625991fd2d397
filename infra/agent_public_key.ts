/**
 * The agents' public host key, published apart from the private one (pure). The host-key Secret holds the
 * private key the agents mount; pvc-sync only pins the public key, so the runtime reads this ConfigMap (its
 * Role names it) and never the Secret. `dr-syncer deploy` writes it from the host-key Secret on every deploy
 * (unchanged while the key is), so a cluster deployed before it existed gets it on the next deploy.
 */
import type { KubeObject } from "../shared/kube/types.ts";
import type { AgentSettings } from "../shared/config/config_schema.ts";
import { HOST_KEY_PUBLIC, HOST_PUBLIC_KEY_CONFIG_MAP } from "../shared/pvc/agent_names.ts";
import { agentLabels } from "./agent_templates.ts";

export { HOST_PUBLIC_KEY_CONFIG_MAP };

/** One OpenSSH public key line (`type base64 [comment]`), or `undefined` when `text` is not one. */
export function publicKeyLine(text: string): string | undefined {
  const line = text.trim().split("\n")[0]?.trim() ?? "";
  return /^(ssh-|ecdsa-|sk-)\S+ [A-Za-z0-9+/]+={0,2}( \S.*)?$/.test(line) ? line : undefined;
}

/** The published public host key (`publicKey`: one OpenSSH line). */
export function agentPublicKeyConfigMap(settings: AgentSettings, publicKey: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: HOST_PUBLIC_KEY_CONFIG_MAP, namespace: settings.namespace, labels: agentLabels() },
    data: { [HOST_KEY_PUBLIC]: publicKey === "" ? "" : `${publicKey.trim()}\n` },
  };
}
