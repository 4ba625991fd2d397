import type { KubeClient } from "../kube/kube_client.ts";
import {
  apiVersionOf,
  type KubeList,
  type KubeObject,
  resourcePath,
  type ResourceType,
} from "../kube/types.ts";

/**
 * Lists every object of one type in a namespace, page by page. List items carry no kind or
 * apiVersion; they are filled in from the type.
 */
export async function listObjects(
  client: KubeClient,
  type: ResourceType,
  namespace: string,
  options: { pageSize?: number; labelSelector?: string } = {},
): Promise<KubeObject[]> {
  const out: KubeObject[] = [];
  let token: string | undefined;
  do {
    const page: KubeList = await client.request({
      method: "GET",
      path: resourcePath(type, namespace),
      query: { limit: options.pageSize ?? 500, continue: token, labelSelector: options.labelSelector },
    });
    for (const item of page.items) {
      out.push({ ...item, apiVersion: apiVersionOf(type), kind: type.kind });
    }
    token = page.metadata.continue || undefined;
  } while (token);
  return out;
}
