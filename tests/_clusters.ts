/** Test helpers: clients for the two real local clusters that `deno task testenv up` starts. */
import { connectCluster, type KubeClient, type KubeObject } from "../shared/kube/mod.ts";

export const TESTENV_DIR = Deno.env.get("DR_SYNCER_TESTENV_DIR") ??
  new URL("../.testenv/", import.meta.url).pathname.replace(/\/$/, "");
export const SOURCE_KUBECONFIG = `${TESTENV_DIR}/source.kubeconfig`;
export const DR_KUBECONFIG = `${TESTENV_DIR}/dr.kubeconfig`;

export interface TestClusters {
  readonly source: KubeClient;
  readonly dr: KubeClient;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Connects to both clusters; fails with a clear message when they are not running. */
export async function testClusters(): Promise<TestClusters> {
  for (const file of [SOURCE_KUBECONFIG, DR_KUBECONFIG]) {
    try {
      await Deno.stat(file);
    } catch {
      throw new Error(`The test clusters are not running (no ${file}): run "deno task testenv up" first`);
    }
  }
  const source = await connectCluster("source", { path: SOURCE_KUBECONFIG });
  const dr = await connectCluster("dr", { path: DR_KUBECONFIG });
  return {
    source,
    dr,
    [Symbol.asyncDispose]() {
      source.close();
      dr.close();
      return Promise.resolve();
    },
  };
}

let counter = 0;
/** A namespace name no other test uses (tests run in parallel against the same clusters). */
export function uniqueName(prefix: string): string {
  counter++;
  return `${prefix}-${Date.now().toString(36)}-${counter}${Math.floor(Math.random() * 1e4)}`.slice(0, 63);
}

export async function createNamespace(client: KubeClient, name: string, labels: Record<string, string> = {}) {
  return await client.request<KubeObject>({
    method: "POST",
    path: "/api/v1/namespaces",
    body: { apiVersion: "v1", kind: "Namespace", metadata: { name, labels } },
  });
}

/** Deletes a namespace without waiting (the namespace controller finishes it). */
export async function deleteNamespace(client: KubeClient, name: string): Promise<void> {
  try {
    await client.request({ method: "DELETE", path: `/api/v1/namespaces/${name}` });
  } catch {
    // already gone, or the cluster is stopped by the test itself
  }
}
