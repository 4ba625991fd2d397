/**
 * Test helpers: run as the runtime's ServiceAccount with only the rights `dr-syncer render` gives it (its
 * Roles, ClusterRole and bindings applied to a test cluster, a token of that account in a kubeconfig).
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { cutover } from "../../functions/cutover.ts";
import { failback } from "../../functions/failback.ts";
import { stage } from "../../functions/stage.ts";
import { silentLogger } from "../../shared/log/mod.ts";
import type { ReplicationSpec } from "../../shared/plan/replication_spec.ts";
import { RUNTIME_NAME, runtimeRbacName } from "../../infra/names.ts";
import { tokenKubeconfig } from "../../infra/render.ts";
import type { KubeClient, KubeObject } from "../../shared/kube/mod.ts";
import { seed } from "../_clusters.ts";

/** The kinds of the runtime's account and rights among rendered objects. */
export const RBAC_KINDS: ReadonlySet<string> = new Set([
  "ServiceAccount",
  "Role",
  "RoleBinding",
  "ClusterRole",
  "ClusterRoleBinding",
]);

/** Applies the runtime's account and rights of `objects` (a cluster's rendered objects; not the agents' account). */
export async function installRuntimeRights(
  admin: KubeClient,
  objects: readonly KubeObject[],
): Promise<KubeObject[]> {
  const rights = objects.filter((o) =>
    RBAC_KINDS.has(o.kind) && (o.kind !== "ServiceAccount" || o.metadata.name === RUNTIME_NAME)
  );
  await seed(admin, rights);
  return rights;
}

/** A kubeconfig (text) that acts as the runtime's ServiceAccount in `runtimeNs` of `admin`'s cluster. */
export async function runtimeKubeconfig(admin: KubeClient, name: string, runtimeNs: string): Promise<string> {
  const token = await admin.request<{ status: { token: string } }>({
    method: "POST",
    path: `/api/v1/namespaces/${runtimeNs}/serviceaccounts/${RUNTIME_NAME}/token`,
    body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds: 1200 } },
  });
  // the namespace's root CA ConfigMap is written by a controller shortly after the namespace
  for (let attempt = 0;; attempt++) {
    try {
      const rootCa = await admin.request<{ data: Record<string, string> }>({
        method: "GET",
        path: `/api/v1/namespaces/${runtimeNs}/configmaps/kube-root-ca.crt`,
      });
      return tokenKubeconfig(
        name,
        admin.server,
        Buffer.from(rootCa.data["ca.crt"]!).toString("base64"),
        token.status.token,
      );
    } catch (error) {
      if (attempt >= 150) throw error;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** Removes the runtime's ClusterRole and ClusterRoleBinding (its namespaced objects go with their namespaces). */
export async function removeClusterRights(admin: KubeClient, runtimeNs: string): Promise<void> {
  for (const kind of ["clusterrolebindings", "clusterroles"]) {
    await admin.request({
      method: "DELETE",
      path: `/apis/rbac.authorization.k8s.io/v1/${kind}/${runtimeRbacName(runtimeNs)}`,
    }).catch(() => {});
  }
}

/** Whether a request is refused by authorization. */
export const forbidden = (e: { status?: number }): boolean => e.status === 403;

/** Stage, cutover and failback of `spec` with these clients (the runtime's credentials): each succeeds. */
export async function stageCutoverFailback(source: KubeClient, dr: KubeClient, spec: ReplicationSpec) {
  const deps = { source, dr, logger: silentLogger, lock: { leaseSeconds: 15 } };
  const staged = await stage(deps, { replication: spec });
  assert.equal(staged.status, "succeeded", JSON.stringify(staged));
  const cut = await cutover(deps, { replication: spec });
  assert.equal(cut.status, "succeeded", JSON.stringify(cut));
  const back = await failback(deps, { replication: spec });
  assert.equal(back.status, "succeeded", JSON.stringify(back));
}
