/**
 * The runs' records in the DR cluster (`shared/runs/`), as the runtime keeps them: a run's record is
 * created in the replication's DR namespace before it starts (the create is what makes a run id,
 * and so an Idempotency-Key or a tick, owned by one replica) and written again with its report when
 * it ends, so any replica can answer for it. A run another replica runs is followed through its
 * record.
 */
import { delay } from "../../shared/async/delay.ts";
import type { Replication } from "../../shared/config/mod.ts";
import type { KubeClient } from "../../shared/kube/kube_client.ts";
import type { Logger } from "../../shared/log/logger.ts";
import { type RunRecord, RunRecordStore } from "../../shared/runs/mod.ts";
import { LockHeldError, readLockHolder } from "../../shared/state/mod.ts";
import { createDestNamespaceIfMissing } from "../../shared/sync/dest_namespace.ts";
import type { ClusterPool } from "./cluster_pool.ts";
import type { RunOutcome, StartedRun } from "./run_admission.ts";

export interface RunRecordsOptions {
  readonly replications: () => readonly Replication[];
  readonly clusters: ClusterPool;
  /** Run records kept per replication (default 20). */
  readonly runsKept?: number | undefined;
  /** How often a repeat polls the record of a run another replica runs (default 500 ms). */
  readonly pollMs?: number | undefined;
  readonly now: () => Date;
}

export class RunRecords {
  readonly #o: RunRecordsOptions;

  constructor(options: RunRecordsOptions) {
    this.#o = options;
  }

  #store(dr: KubeClient): RunRecordStore {
    return new RunRecordStore(dr, { keep: this.#o.runsKept ?? 20 });
  }

  /**
   * Creates the run's record in the DR namespace (creating a missing namespace first when
   * `createsNamespace`) and checks the replication's lock unless the run waits for it (judged as
   * taking it judges it: a holder whose lease has passed on the DR API server's clock holds nothing,
   * so a retried trigger after a crash runs); finds the record when another request created it
   * first. Only a record the runtime wrote counts as one (a ConfigMap planted under its name is
   * replaced, see `RunRecordStore.create`).
   */
  async claim(
    dr: KubeClient,
    replication: Replication,
    record: RunRecord,
    options: {
      readonly createsNamespace: boolean;
      readonly waitsForLock: boolean;
      /** A lock holder the run waits for all the same (this replica's watch run in flight). */
      readonly waitsForHolder?: ((holder: string) => boolean) | undefined;
    },
  ): Promise<{ stored: boolean } | { existing: RunRecord }> {
    const namespace = replication.destination.namespace;
    const store = this.#store(dr);
    // the record and the lock are read side by side (a missing namespace holds no lock)
    const [first, lock] = await Promise.all([
      store.create(namespace, record),
      options.waitsForLock ? undefined : readLockHolder(dr, namespace, this.#o.now()),
    ]);
    let created = first;
    if ("namespaceMissing" in created && options.createsNamespace) {
      await createDestNamespaceIfMissing(dr, namespace, { knownMissing: true }); // the run creates it anyway
      created = await store.create(namespace, record);
    }
    if ("existing" in created) return { existing: created.existing };
    const stored = created.created;
    if (!options.waitsForLock) {
      if (lock !== undefined && lock.holder !== record.runId && !options.waitsForHolder?.(lock.holder)) {
        if (stored) await store.delete(namespace, record.runId);
        throw new LockHeldError(replication.name, lock.holder, lock.expiresAt, lock.leaseSeconds);
      }
    }
    return { stored };
  }

  /** A run another request started (maybe on another replica): followed through its record. */
  follow(dr: KubeClient, namespace: string, first: RunRecord): StartedRun {
    const store = this.#store(dr);
    const pollMs = this.#o.pollMs ?? 500;
    return {
      runId: first.runId,
      repeated: true,
      async finished(signal) {
        let record = first;
        while (record.status === "running") {
          await delay(pollMs, { signal });
          const now = await store.get(namespace, first.runId, signal);
          // gone: a run refused for a held lock deletes its record (its key may be sent again)
          record = now ?? vanished(first);
        }
        return { record };
      },
    };
  }

  /**
   * Writes the finished record, then keeps the newest records of the replication. A run refused
   * for a held lock never ran: with `forget`, its record is deleted so its key may be used again.
   */
  async keep(
    dr: KubeClient,
    replication: Replication,
    outcome: RunOutcome,
    forget: boolean,
    log: Logger,
  ): Promise<void> {
    const store = this.#store(dr);
    const namespace = replication.destination.namespace;
    try {
      if (forget && outcome.error instanceof LockHeldError) {
        await store.delete(namespace, outcome.record.runId);
        return;
      }
      // the oldest records go while this one is written (counted as finished: the newest, never among them)
      const [, pruned] = await Promise.all([
        store.save(namespace, outcome.record),
        store.prune(namespace, replication.name, undefined, outcome.record.runId),
      ]);
      if (pruned > 0) log.debug("old run records deleted", { pruned });
    } catch (error) {
      log.warn("could not keep the run's record in the DR cluster", { error });
    }
  }

  /** The record of `runId` in the DR namespaces of the configured replications (one GET each, side by side). */
  async find(runId: string, signal?: AbortSignal): Promise<RunRecord | undefined> {
    const found = await Promise.all(
      this.#o.replications().map(async (replication) => {
        const dr = await this.#o.clusters.get(replication.destination.cluster);
        const record = await this.#store(dr).get(replication.destination.namespace, runId, signal);
        return record?.replication === replication.name ? record : undefined;
      }),
    );
    return found.find((r) => r !== undefined);
  }

  /** The last records of a replication in its DR namespace, newest first, without reports. */
  async history(replication: Replication, signal?: AbortSignal) {
    const dr = await this.#o.clusters.get(replication.destination.cluster);
    return await this.#store(dr).list(replication.destination.namespace, replication.name, signal);
  }
}

/**
 * What a repeat answers for a run whose record vanished while it was followed: the replica that
 * had it deletes it when the run was refused for a held lock (or it was pruned). Nothing ran under
 * it; the request may be sent again with the same key.
 */
function vanished(first: RunRecord): RunRecord {
  return {
    ...first,
    status: "failed",
    httpStatus: 409,
    error: {
      code: "refused",
      message:
        `Run "${first.runId}" of "${first.replication}" did not run: its record was removed (a run refused because another run held the replication's lock); send the request again, with waitForLock to wait for the lock`,
    },
  };
}
