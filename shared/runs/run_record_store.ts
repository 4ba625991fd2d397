/**
 * Run records in the DR cluster (see `run_record.ts`): created when a run starts (the create is
 * what makes a run id, and so an Idempotency-Key or a schedule tick, owned by one replica), written
 * again when it ends, listed by replication, and kept to the last `keep` per replication.
 *
 * Only records the runtime wrote count (`runRecordDistrust`): any other ConfigMap under a record's
 * name (a copy of a source object, one made by hand) is not a run. It is not returned by `get` or
 * `list`, it never makes a run id taken (a create finds it, deletes exactly it, and creates the
 * record), and pruning neither counts nor deletes it. Records dated in the future are not trusted
 * to be the newest either: they are left out of listings and pruning.
 */
import { RefusedError } from "../errors.ts";
import { isAlreadyExists, isNotFound, KubeApiError } from "../kube/kube_api_error.ts";
import type { KubeClient } from "../kube/kube_client.ts";
import { withRetry } from "../kube/retry.ts";
import { type KubeObject, resourcePath, type ResourceType } from "../kube/types.ts";
import { deleteObject, getObject } from "../kube/verbs.ts";
import {
  COMPONENT_RUN_RECORD,
  LABEL_COMPONENT,
  LABEL_RUN_OF,
  RUN_RECORD_FIELD_MANAGER,
  type RunRecord,
  runRecordDistrust,
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

/** A record started later than this after now is not believed (a clock far ahead, or a forgery). */
export const MAX_FUTURE_SKEW_MS = 5 * 60_000;

type ConfigMap = KubeObject & { data?: Record<string, string> };

/** What creating a record found. */
export type CreateRunRecordResult =
  | {
    readonly created: true;
    /** Why the ConfigMap that held the record's name before was not a record (it was deleted). */
    readonly replaced?: string;
  }
  | { readonly created: false; readonly existing: RunRecord }
  /** The DR namespace does not exist (nothing staged yet): the record cannot be kept there. */
  | { readonly created: false; readonly namespaceMissing: true };

export interface RunRecordStoreOptions {
  /** Records kept per replication (default 20); older ones are deleted after each finished run. */
  readonly keep?: number;
  readonly signal?: AbortSignal | undefined;
}

/** Another ConfigMap keeps taking the record's name (it is made again as fast as it is deleted). */
export class RunRecordNameTakenError extends RefusedError {
  override readonly name = "RunRecordNameTakenError";
}

/** A trusted summary, not dated in the future. */
function believable(summary: RunRecordSummary, now: number): boolean {
  const started = Date.parse(summary.startedAt);
  return !Number.isNaN(started) && started <= now + MAX_FUTURE_SKEW_MS;
}

export class RunRecordStore {
  readonly keep: number;

  constructor(private readonly dr: KubeClient, options: RunRecordStoreOptions = {}) {
    this.keep = options.keep ?? 20;
    if (!Number.isInteger(this.keep) || this.keep < 1) {
      throw new RangeError(`Run records kept must be a whole number >= 1, not ${this.keep}`);
    }
  }

  /**
   * Creates the record of a starting run, or finds the one that already has its run id. A
   * ConfigMap under that name that is not a record is deleted (that very object, by its uid) and
   * the record created in its place.
   */
  async create(namespace: string, record: RunRecord): Promise<CreateRunRecordResult> {
    let replaced: string | undefined;
    for (let attempt = 0; attempt < 4; attempt++) {
      try {
        await this.dr.request({
          method: "POST",
          path: resourcePath(CONFIG_MAPS, namespace),
          query: { fieldManager: RUN_RECORD_FIELD_MANAGER },
          body: runRecordObject(namespace, record),
        });
        return replaced === undefined ? { created: true } : { created: true, replaced };
      } catch (error) {
        if (isNotFound(error)) return { created: false, namespaceMissing: true };
        if (!isAlreadyExists(error)) throw error;
      }
      const object = await getObject<ConfigMap>(this.dr, CONFIG_MAPS, namespace, runRecordName(record.runId));
      if (object === undefined) continue; // deleted between our create and our read: ours to create again
      const distrust = runRecordDistrust(object);
      if (distrust === undefined) return { created: false, existing: runRecordOf(object)! };
      replaced = distrust;
      await this.#deleteExactly(namespace, object.metadata.name, object.metadata.uid);
    }
    throw new RunRecordNameTakenError(
      `Cannot create the record of run "${record.runId}" in namespace "${namespace}": a ConfigMap that is not a run record (${replaced}) keeps taking its name`,
    );
  }

  /** Writes the record again (a finished run); retried on passing failures. */
  async save(namespace: string, record: RunRecord): Promise<void> {
    const object = runRecordObject(namespace, record);
    await withRetry(() =>
      this.dr.request({
        method: "PATCH",
        path: resourcePath(CONFIG_MAPS, namespace, object.metadata.name),
        query: { fieldManager: RUN_RECORD_FIELD_MANAGER, force: true },
        contentType: "application/apply-patch+yaml",
        body: object,
      }), { attempts: 4 });
  }

  /** The record of `runId` in `namespace`, or `undefined` (also when what holds its name is not a record). */
  async get(namespace: string, runId: string, signal?: AbortSignal): Promise<RunRecord | undefined> {
    const object = await getObject<ConfigMap>(this.dr, CONFIG_MAPS, namespace, runRecordName(runId), {
      signal,
    });
    return object && runRecordDistrust(object) === undefined ? runRecordOf(object) : undefined;
  }

  /** The trusted records of `replication` with their uids, newest first (one metadata-only list). */
  async #records(
    namespace: string,
    replication: string,
    now: number,
    signal?: AbortSignal,
  ): Promise<{ summary: RunRecordSummary; uid: string | undefined }[]> {
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
      .filter((item) => runRecordDistrust(item) === undefined)
      .map((item) => ({ summary: runRecordSummaryOf(item)!, uid: item.metadata.uid }))
      .filter(({ summary }) => summary.replication === replication && believable(summary, now))
      .sort((a, b) => b.summary.startedAt.localeCompare(a.summary.startedAt));
  }

  /** The records of `replication`, newest first, without their reports (one metadata-only list). */
  async list(
    namespace: string,
    replication: string,
    signal?: AbortSignal,
    now: Date = new Date(),
  ): Promise<RunRecordSummary[]> {
    return (await this.#records(namespace, replication, now.getTime(), signal)).map((r) => r.summary);
  }

  /** Deletes the record of `runId` (a run that never started, so its key may be used again); only a record. */
  async delete(namespace: string, runId: string): Promise<void> {
    const object = await getObject<ConfigMap>(this.dr, CONFIG_MAPS, namespace, runRecordName(runId));
    if (object !== undefined && runRecordDistrust(object) === undefined) {
      await this.#deleteExactly(namespace, object.metadata.name, object.metadata.uid);
    }
  }

  /** Deletes the object `name` of `uid` and nothing else: not one created again under its name meanwhile. */
  async #deleteExactly(namespace: string, name: string, uid: string | undefined): Promise<void> {
    try {
      await deleteObject(this.dr, CONFIG_MAPS, namespace, name, { uid });
    } catch (error) {
      // 409: its uid changed (deleted and made again meanwhile): not the object judged, left alone
      if (!(error instanceof KubeApiError && error.status === 409)) throw error;
    }
  }

  /**
   * Deletes the records of `replication` beyond the newest `keep`; returns how many. The newest
   * record of each operation is kept however many runs came after it (a cutover's record is not
   * pushed out by the schedule's stages), and a record still `running` is kept for a day (its
   * replica may have died mid-run: it never finishes). Only trusted records dated up to now are
   * counted, and only they are deleted (each by its uid): a forged record dated in the future
   * cannot push the real ones out. `finishing` names a run whose finished record is being written
   * meanwhile: it counts as finished whatever this read finds.
   */
  async prune(
    namespace: string,
    replication: string,
    now: Date = new Date(),
    finishing?: string,
  ): Promise<number> {
    const records = await this.#records(namespace, replication, now.getTime());
    const dayAgo = now.getTime() - 24 * 3600_000;
    const newestOf = new Set<string>();
    const seen = new Set<string>();
    for (const { summary } of records) { // newest first
      if (seen.has(summary.operation)) continue;
      seen.add(summary.operation);
      newestOf.add(summary.runId);
    }
    const old = records
      .filter(({ summary: r }) =>
        r.status !== "running" || r.runId === finishing || Date.parse(r.startedAt) < dayAgo
      )
      .slice(this.keep)
      .filter(({ summary }) => !newestOf.has(summary.runId));
    for (const { summary, uid } of old) {
      await this.#deleteExactly(namespace, runRecordName(summary.runId), uid);
    }
    return old.length;
  }
}
