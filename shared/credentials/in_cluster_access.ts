/**
 * The credentials a pod gets from Kubernetes: the API server's address from
 * `KUBERNETES_SERVICE_HOST`/`KUBERNETES_SERVICE_PORT` (the edge reads the environment and hands
 * them in) and the ServiceAccount's token, CA and namespace mounted in `dir`. The token is read
 * again at most once a minute by the client (projected tokens rotate).
 */
import type { ClusterAccess } from "../kube/cluster_access.ts";
import { KubeconfigError } from "../kube/load_kube_config.ts";

/** Where Kubernetes mounts a pod's ServiceAccount credentials. */
export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

export interface InClusterSettings {
  readonly host: string;
  readonly port: string;
  /** The folder with `token`, `ca.crt` and `namespace` (default `SERVICE_ACCOUNT_DIR`). */
  readonly dir?: string | undefined;
}

async function readIn(dir: string, file: string, where: string): Promise<string> {
  try {
    return await Deno.readTextFile(`${dir}/${file}`);
  } catch (error) {
    const detail = error instanceof Deno.errors.NotFound ? "no such file" : String(error);
    throw new KubeconfigError(where, `${detail}: "${dir}/${file}"`, { cause: error });
  }
}

/** The pod's own access to the cluster it runs in. */
export async function inClusterAccess(settings: InClusterSettings): Promise<ClusterAccess> {
  const dir = (settings.dir ?? SERVICE_ACCOUNT_DIR).replace(/\/+$/, "");
  const where = `the pod's service account ("${dir}")`;
  if (!/^\d{1,5}$/.test(settings.port)) {
    throw new KubeconfigError(where, `KUBERNETES_SERVICE_PORT "${settings.port}" is not a port number`);
  }
  const host = settings.host.includes(":") ? `[${settings.host}]` : settings.host;
  const [caPem, namespace] = await Promise.all([
    readIn(dir, "ca.crt", where),
    readIn(dir, "namespace", where).then((n) => n.trim() || undefined, () => undefined),
    readIn(dir, "token", where), // must exist now; the client reads it again as it rotates
  ]);
  return {
    contextName: "in-cluster",
    server: `https://${host}:${settings.port}`,
    namespace,
    caPem,
    certPem: undefined,
    keyPem: undefined,
    skipTlsVerify: false,
    token: undefined,
    tokenFile: `${dir}/token`,
    basicAuth: undefined,
    impersonate: undefined,
    pluginAuth: undefined,
  };
}
