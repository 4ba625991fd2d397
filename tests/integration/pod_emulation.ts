/**
 * Test helpers: run a pod's container on this machine as the kubelet would run it, for the test clusters,
 * whose KWOK nodes run no container. From the pod the controllers created: the container's exact command and
 * args, its env, its working directory (`/app`, the image's copy of this repository: here its root), each
 * volume mounted under a folder of the test's own (ConfigMaps and Secrets written out key by key, an
 * `emptyDir` empty, the ServiceAccount's projected token from a TokenRequest bound to the pod, with the
 * cluster's CA and the namespace), and what Kubernetes gives every pod: `KUBERNETES_SERVICE_HOST`/`_PORT`
 * (here the test cluster's API server) and `HOSTNAME`. A path under a mount (in the args, the env) is
 * rewritten to that folder; `DR_SYNCER_SERVICEACCOUNT_DIR` names the token's folder (the runtime's way to be
 * told where it is mounted).
 */
import { Buffer } from "node:buffer";
import type { KubeClient, KubeObject } from "../../shared/kube/mod.ts";

/** Where Kubernetes mounts a pod's ServiceAccount token. */
const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";
/** The image's `/app`: this repository. */
const REPO = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

interface Volume {
  name: string;
  configMap?: { name: string };
  secret?: { secretName: string };
  emptyDir?: Record<string, unknown>;
  projected?: { sources: Record<string, unknown>[] };
}

export interface Pod extends KubeObject {
  spec: {
    serviceAccountName?: string;
    nodeName?: string;
    securityContext?: Record<string, unknown>;
    containers: {
      name: string;
      command?: string[];
      args?: string[];
      workingDir?: string;
      env?: { name: string; value?: string }[];
      volumeMounts?: { name: string; mountPath: string }[];
      securityContext?: Record<string, unknown>;
    }[];
    volumes?: Volume[];
  };
}

export interface ContainerRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** The argv run (after the mount paths were rewritten). */
  readonly argv: readonly string[];
}

async function denoDir(): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"], stdout: "piped" }).output();
  return (JSON.parse(new TextDecoder().decode(out.stdout)) as { denoDir: string }).denoDir;
}

async function writeFiles(dir: string, files: Record<string, string | Uint8Array>) {
  await Deno.mkdir(dir, { recursive: true });
  for (const [key, value] of Object.entries(files)) {
    if (typeof value === "string") await Deno.writeTextFile(`${dir}/${key}`, value);
    else await Deno.writeFile(`${dir}/${key}`, value);
  }
}

/** The ServiceAccount's token bound to the pod (as the kubelet asks for it), the cluster's CA, the namespace. */
async function serviceAccountFiles(admin: KubeClient, pod: Pod): Promise<Record<string, string>> {
  const ns = pod.metadata.namespace!;
  const account = pod.spec.serviceAccountName ?? "default";
  const request = await admin.request<{ status: { token: string } }>({
    method: "POST",
    path: `/api/v1/namespaces/${ns}/serviceaccounts/${account}/token`,
    body: {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: {
        expirationSeconds: 3600,
        boundObjectRef: { apiVersion: "v1", kind: "Pod", name: pod.metadata.name, uid: pod.metadata.uid },
      },
    },
  });
  const rootCa = await admin.request<{ data: Record<string, string> }>({
    method: "GET",
    path: `/api/v1/namespaces/${ns}/configmaps/kube-root-ca.crt`,
  });
  return { token: request.status.token, "ca.crt": rootCa.data["ca.crt"]!, namespace: ns };
}

/**
 * Runs container `name` (default the first) of `pod` here, its volumes' contents read with `admin`, against
 * the API server `server` (the URL of the pod's cluster).
 */
export async function runPodContainer(
  admin: KubeClient,
  pod: Pod,
  server: string,
  options: { container?: string; root: string },
): Promise<ContainerRun> {
  const container = pod.spec.containers.find((c) =>
    options.container === undefined || c.name === options.container
  );
  if (!container) throw new Error(`pod ${pod.metadata.name} has no container ${options.container}`);
  const ns = pod.metadata.namespace!;
  const mounts = new Map<string, string>();
  let serviceAccountDir: string | undefined;
  for (const mount of container.volumeMounts ?? []) {
    const volume = pod.spec.volumes?.find((v) => v.name === mount.name);
    if (!volume) throw new Error(`pod ${pod.metadata.name}: no volume ${mount.name}`);
    const dir = `${options.root}${mount.mountPath}`;
    mounts.set(mount.mountPath, dir);
    if (volume.configMap) {
      const cm = await admin.request<{ data?: Record<string, string> }>({
        method: "GET",
        path: `/api/v1/namespaces/${ns}/configmaps/${volume.configMap.name}`,
      });
      await writeFiles(dir, cm.data ?? {});
    } else if (volume.secret) {
      const secret = await admin.request<{ data?: Record<string, string> }>({
        method: "GET",
        path: `/api/v1/namespaces/${ns}/secrets/${volume.secret.secretName}`,
      });
      await writeFiles(
        dir,
        Object.fromEntries(
          Object.entries(secret.data ?? {}).map(([k, v]) => [k, new Uint8Array(Buffer.from(v, "base64"))]),
        ),
      );
    } else if (volume.emptyDir) {
      await Deno.mkdir(dir, { recursive: true });
    } else if (volume.projected && mount.mountPath === SERVICE_ACCOUNT_DIR) {
      await writeFiles(dir, await serviceAccountFiles(admin, pod));
      serviceAccountDir = dir;
    } else {
      throw new Error(`pod ${pod.metadata.name}: volume ${mount.name} of a kind this helper cannot mount`);
    }
  }
  if (serviceAccountDir === undefined) {
    // no ServiceAccount admission in this cluster: the token as the kubelet would mount it
    serviceAccountDir = `${options.root}${SERVICE_ACCOUNT_DIR}`;
    await writeFiles(serviceAccountDir, await serviceAccountFiles(admin, pod));
  }
  // a path under a mount, as the container sees it, is that mount's folder here
  const mapped = (value: string) => {
    for (const [path, dir] of mounts) {
      if (value === path || value.startsWith(`${path}/`)) return `${dir}${value.slice(path.length)}`;
    }
    return value;
  };
  const argv = [...(container.command ?? []), ...(container.args ?? [])].map(mapped);
  if (argv[0] !== "deno") throw new Error(`the container runs ${argv[0]}, not deno`);
  const url = new URL(server);
  const env: Record<string, string> = {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    // the image's ENV (infra/Dockerfile.runtime): its cache of the dependencies is this machine's
    DENO_DIR: await denoDir(),
    DENO_NO_UPDATE_CHECK: "1",
    HOME: "/tmp",
    ...Object.fromEntries((container.env ?? []).map((e) => [e.name, mapped(e.value ?? "")])),
    KUBERNETES_SERVICE_HOST: url.hostname,
    KUBERNETES_SERVICE_PORT: url.port || "443",
    HOSTNAME: pod.metadata.name,
    DR_SYNCER_SERVICEACCOUNT_DIR: serviceAccountDir,
    NO_COLOR: "1",
  };
  if (env.HOME === "/tmp") env.HOME = options.root;
  const out = await new Deno.Command(Deno.execPath(), {
    args: argv.slice(1),
    cwd: container.workingDir === "/app" ? REPO : mapped(container.workingDir ?? REPO),
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr), argv };
}
