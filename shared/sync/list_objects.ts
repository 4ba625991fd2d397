import type { KubeClient } from "../kube/kube_client.ts";
import { KubeApiError } from "../kube/kube_api_error.ts";
import {
  apiVersionOf,
  type KubeList,
  type KubeObject,
  resourcePath,
  type ResourceType,
} from "../kube/types.ts";
import { withRetry } from "./retry.ts";

const expired = (error: unknown) => error instanceof KubeApiError && error.status === 410;

/**
 * Lists every object of one type in a namespace, page by page; a page that fails with 429, 5xx or
 * a conflict is asked again, and a list whose continue token expired (410) starts over. List
 * items carry no kind or apiVersion; they are filled in from the type. `managedFields`, often the
 * largest part of an object and read only to find explicitly set Service node ports, are dropped
 * unless `keepManagedFields`.
 */
export async function listObjects(
  client: KubeClient,
  type: ResourceType,
  namespace: string,
  options: { pageSize?: number; labelSelector?: string; keepManagedFields?: boolean } = {},
): Promise<KubeObject[]> {
  for (let attempt = 1;; attempt++) {
    const out: KubeObject[] = [];
    let token: string | undefined;
    try {
      do {
        const page: KubeList = await withRetry(() =>
          client.request({
            method: "GET",
            path: resourcePath(type, namespace),
            query: { limit: options.pageSize ?? 500, continue: token, labelSelector: options.labelSelector },
          })
        );
        for (const item of page.items) {
          if (!options.keepManagedFields) delete item.metadata.managedFields;
          out.push({ ...item, apiVersion: apiVersionOf(type), kind: type.kind });
        }
        token = page.metadata.continue || undefined;
      } while (token);
      return out;
    } catch (error) {
      if (!expired(error) || attempt >= 3) throw error;
    }
  }
}
