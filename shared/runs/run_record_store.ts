/**
 * Run records in the DR cluster (see `run_record.ts`): created when a run starts (the create is
 * what makes a run id, and so an Idempotency-Key or a schedule tick, owned by one replica), written
 * again when it ends, listed by replication, and kept to the last `keep` per replication.
 */
import { isAlreadyExists, isNotFound } from "../kube/kube_api_error.ts";
import type { KubeClient } from "../kube/kube_client.ts";
import { withRetry } from "../kube/retry.ts";
import { type KubeObject, resourcePath, type ResourceType } from "../kube/types.ts";
import { applyObject, createObject, deleteObject, getObject } from "../kube/verbs.ts";
import {
  COMPONENT_RUN_RECORD,
  LABEL_COMPONENT,
  LABEL_RUN_OF,
  type RunRecord,
  runRecordName,
  runRecordObject,
  runRecordOf,
  type RunRecordSummary,
  runRecordSummaryOf,
} from "./run_record.ts";

const CONFIG_MAPS: ResourceType = {
  group: "",
  version: "v1",
  resource: "configmaps",
  kind: "ConfigMap",
  namespaced: true,
};

const METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";

/** What creating a record found. */
export type CreateRunRecordResult =
  | { readonly created: true }
  | { readonly created: false; readonly existing: RunRecord }
  /** The DR namespace does not exist (nothing staged yet): the record cannot be kept there. */
  | { readonly created: false; readonly namespaceMissing: true };

export interface RunRecordStoreOptions {
  /** Records kept per replication (default 20); older ones are deleted after each finished run. */
  readonly keep?: number;
  readonly signal?: AbortSignal | undefined;
}

export class RunRecordStore {
  readonly keep: number;

  constructor(private readonly dr: KubeClient, options: RunRecordStoreOptions = {}) {
    this.keep = options.keep ?? 20;
    if (!Number.isInteger(this.keep) || this.keep < 1) {
      throw new RangeError(`Run records kept must be a whole number >= 1, not ${this.keep}`);
    }
  }

  /** Creates the record of a starting run, or finds the one that already has its run id. */
  async create(namespace: string, record: RunRecord): Promise<CreateRunRecordResult> {
    try {
      await createObject(this.dr, CONFIG_MAPS, runRecordObject(namespace, record));
      return { created: true };
    } catch (error) {
      if (isNotFound(error)) return { created: false, namespaceMissing: true };
      if (!isAlreadyExists(error)) throw error;
    }
    const existing = await this.get(namespace, record.runId);
    if (existing) return { created: false, existing };
    // deleted between our create and our read (retention): it is ours to create again
    return await this.create(namespace, record);
  }

  /** Writes the record again (a finished run); retried on passing failures. */
  async save(namespace: string, record: RunRecord): Promise<void> {
    const object = runRecordObject(namespace, record);
    await withRetry(() => applyObject(this.dr, CONFIG_MAPS, object), { attempts: 4 });
  }

  /** The record of `runId` in `namespace`, or `undefined`. */
  async get(namespace: string, runId: string, signal?: AbortSignal): Promise<RunRecord | undefined> {
    const object = await getObject<KubeObject & { data?: Record<string, string> }>(
      this.dr,
      CONFIG_MAPS,
      namespace,
      runRecordName(runId),
      { signal },
    );
    return object ? runRecordOf(object) : undefined;
  }

  /** The records of `replication`, newest first, without their reports (one metadata-only list). */
  async list(namespace: string, replication: string, signal?: AbortSignal): Promise<RunRecordSummary[]> {
    let list: { items?: KubeObject[] };
    try {
      list = await withRetry(() =>
        this.dr.request<{ items?: KubeObject[] }>({
          method: "GET",
          path: resourcePath(CONFIG_MAPS, namespace),
          query: {
            labelSelector: `${LABEL_COMPONENT}=${COMPONENT_RUN_RECORD},${LABEL_RUN_OF}=${replication}`,
          },
          accept: METADATA_LIST,
          signal,
        }), { signal });
    } catch (error) {
      if (isNotFound(error)) return [];
      throw error;
    }
    return (list.items ?? [])
      .map((item) => runRecordSummaryOf(item))
      .filter((s): s is RunRecordSummary => s !== undefined && s.replication === replication)
      .sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  }

  /** Deletes the record of `runId` (a run that never started, so its key may be used again). */
  async delete(namespace: string, runId: string): Promise<void> {
    await deleteObject(this.dr, CONFIG_MAPS, namespace, runRecordName(runId));
  }

  /**
   * Deletes the records of `replication` beyond the newest `keep`; returns how many. The newest
   * record of each operation is kept however many runs came after it (a cutover's record is not
   * pushed out by the schedule's stages), and a record still `running` is kept for a day (its
   * replica may have died mid-run: it never finishes).
   */
  async prune(namespace: string, replication: string, now: Date = new Date()): Promise<number> {
    const records = await this.list(namespace, replication);
    const dayAgo = now.getTime() - 24 * 3600_000;
    const newestOf = new Set<string>();
    const seen = new Set<string>();
    for (const record of records) { // newest first
      if (seen.has(record.operation)) continue;
      seen.add(record.operation);
      newestOf.add(record.runId);
    }
    const old = records
      .filter((r) => r.status !== "running" || Date.parse(r.startedAt) < dayAgo)
      .slice(this.keep)
      .filter((r) => !newestOf.has(r.runId));
    for (const record of old) await this.delete(namespace, record.runId);
    return old.length;
  }
}
