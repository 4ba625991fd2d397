/**
 * Continuous mode for one replication: the replica that owns its watch Lease watches every
 * replicated type of the source namespace (from a list's resourceVersion, with bookmarks) and
 * stages the types that changed, a moment after they changed (debounced): a stage narrowed to
 * those types, so every copy rule, the lock, the state checks (no write while cut over) and
 * prune apply as in any stage, and only the changed objects are written. A 410 (expired version),
 * a dropped connection or an API server restart resumes with a relist, and the type is staged
 * again in case events were missed. The schedule's full stage stays the safety net.
 *
 * The watcher pauses while a cutover or failback runs on this replica (the run waits for it), and
 * gives its Lease up when it stops, so another replica takes over at once; a replica that dies
 * hands it over when the Lease expires.
 */
import { delay } from "../../shared/async/delay.ts";
import type { Replication } from "../../shared/config/mod.ts";
import { errorMessage, RefusedError } from "../../shared/errors.ts";
import { KubeApiError } from "../../shared/kube/kube_api_error.ts";
import type { KubeClient } from "../../shared/kube/kube_client.ts";
import { qualifiedName, resourcePath, type ResourceType, typeKey } from "../../shared/kube/types.ts";
import { watchObjects } from "../../shared/kube/verbs.ts";
import type { Logger } from "../../shared/log/logger.ts";
import type { RuntimeMetrics } from "../../shared/metrics/mod.ts";
import { replicationSpecFromConfig } from "../../shared/config/mod.ts";
import { LockHeldError } from "../../shared/state/mod.ts";
import { checkSync } from "../../shared/sync/check_sync.ts";
import { type ClusterPool, type RunCoordinator, RunInProgressError } from "../runtime/mod.ts";
import { WatchLease } from "./watch_lease.ts";

export interface ContinuousOptions {
  readonly runs: RunCoordinator;
  readonly clusters: ClusterPool;
  readonly metrics: RuntimeMetrics;
  readonly logger: Logger;
  /** This replica's identity in the watch Lease. */
  readonly holder: string;
  /** How long changes are gathered before they are staged (default 100 ms). */
  readonly debounceMs?: number | undefined;
  /** The watch Lease's duration (default 15 s). */
  readonly leaseSeconds?: number | undefined;
  /** A watch request's server-side timeout, after which it is resumed (default 300 s). */
  readonly watchTimeoutSeconds?: number | undefined;
}

export type ContinuousState = "starting" | "standby" | "watching" | "paused" | "stopped";

interface Dirty {
  readonly type: ResourceType;
  /** When the oldest change not yet staged was seen. */
  readonly since: number;
  /** When each change was seen (for the lag metric). */
  readonly seen: number[];
}

const backoff = (attempt: number) => Math.min(30_000, 500 * 2 ** Math.min(attempt, 6));

export class ContinuousReplication {
  #state: ContinuousState = "starting";
  #stop = new AbortController();
  #loop: Promise<void> | undefined;
  #session: AbortController | undefined;
  #sessionDone: Promise<void> | undefined;
  #paused = 0;
  #resumed: PromiseWithResolvers<void> = Promise.withResolvers<void>();
  readonly #log: Logger;

  constructor(private readonly o: ContinuousOptions, readonly replication: Replication) {
    this.#log = o.logger.child({ replication: replication.name, component: "watch" });
  }

  get state(): ContinuousState {
    return this.#state;
  }

  start(): void {
    this.#loop ??= this.#run().catch((error) => this.#log.error("the watcher stopped", { error }));
  }

  /** Stops watching and waits for a staging in flight to end; `resume` undoes it. */
  async pause(): Promise<void> {
    this.#paused++;
    this.#session?.abort(new RefusedError("paused"));
    await this.#sessionDone;
    this.#state = this.#stop.signal.aborted ? "stopped" : "paused";
  }

  resume(): void {
    this.#paused = Math.max(0, this.#paused - 1);
    if (this.#paused === 0) {
      this.#resumed.resolve();
      this.#resumed = Promise.withResolvers<void>();
    }
  }

  async stop(): Promise<void> {
    this.#stop.abort(new RefusedError("stopped"));
    this.#session?.abort(new RefusedError("stopped"));
    this.#resumed.resolve();
    await this.#loop;
    this.#state = "stopped";
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    const r = this.replication;
    for (let attempt = 0; !signal.aborted;) {
      if (this.#paused > 0) {
        await this.#resumed.promise;
        continue;
      }
      try {
        const [source, dr] = await Promise.all([
          this.o.clusters.get(r.source.cluster),
          this.o.clusters.get(r.destination.cluster),
        ]);
        const lease = new WatchLease(dr, r.destination.namespace, this.o.holder, this.o.leaseSeconds ?? 15);
        const owned = await lease.tryAcquire();
        if (owned === "namespace-missing") {
          await this.#stage(undefined); // the first stage creates the DR namespace
          continue;
        }
        if (owned === "held") {
          this.#state = "standby";
          await delay((lease.durationSeconds * 1000) / 3, { signal });
          continue;
        }
        attempt = 0;
        await this.#watch(source, dr, lease);
      } catch (error) {
        if (signal.aborted) break;
        this.#log.warn("watch interrupted; trying again", { error: errorMessage(error) });
        await delay(backoff(attempt++), { signal }).catch(() => {});
      }
    }
  }

  /** One ownership of the watch: the watches of every type and the stager, until something stops them. */
  async #watch(source: KubeClient, dr: KubeClient, lease: WatchLease): Promise<void> {
    const session = new AbortController();
    this.#session = session;
    const signal = AbortSignal.any([session.signal, this.#stop.signal]);
    const done = Promise.withResolvers<void>();
    this.#sessionDone = done.promise;
    const renew = setInterval(() => {
      lease.renew().then((ok) => {
        if (!ok) session.abort(new RefusedError("the watch Lease was taken over"));
      }, () => {}); // a failed renewal is retried at the next tick; the Lease lasts a while
    }, (lease.durationSeconds * 1000) / 3);
    try {
      const spec = replicationSpecFromConfig(this.replication);
      const { types } = await checkSync(source, dr, spec);
      this.#state = "watching";
      this.#log.info("watching", { types: types.map(qualifiedName) });
      const dirty = new Map<string, Dirty>();
      let wake = Promise.withResolvers<void>();
      const mark = (type: ResourceType) => {
        const now = performance.now();
        const known = dirty.get(typeKey(type));
        dirty.set(
          typeKey(type),
          known ? { ...known, seen: [...known.seen, now] } : { type, since: now, seen: [now] },
        );
        wake.resolve();
      };
      let stagedAt = -Infinity;
      for (const type of types) mark(type); // the first pass stages everything
      const watchers = types.map((type) => this.#watchType(source, type, mark, signal));
      while (!signal.aborted) {
        await Promise.race([
          wake.promise,
          new Promise((r) => signal.addEventListener("abort", r, { once: true })),
        ]);
        if (signal.aborted) break;
        // the debounce counts from the oldest change waiting: changes seen while the last batch was
        // staged have waited already. Half of it passes after a staging all the same: under a steady
        // stream, repeated changes to one object gather into one write (a staging costs more than its
        // writes: the lock, the lists), and other replicas' runs waiting for the lock find it free
        const debounceMs = this.o.debounceMs ?? 100;
        const oldest = Math.min(performance.now(), ...[...dirty.values()].map((d) => d.since));
        const wait = Math.max(oldest + debounceMs, stagedAt + debounceMs / 2) - performance.now();
        if (wait > 0) await delay(wait, { signal }).catch(() => {});
        if (signal.aborted) break;
        const batch = [...dirty.values()];
        dirty.clear();
        wake = Promise.withResolvers<void>();
        const retryIn = await this.#stage(batch);
        stagedAt = performance.now();
        if (retryIn !== undefined) {
          for (const d of batch) {
            const now = dirty.get(typeKey(d.type));
            dirty.set(typeKey(d.type), now ? { ...d, seen: [...d.seen, ...now.seen] } : d);
          }
          await delay(retryIn, { signal }).catch(() => {});
          wake.resolve();
        }
      }
      await Promise.allSettled(watchers);
    } finally {
      clearInterval(renew);
      if (this.#stop.signal.aborted || this.#paused > 0) await lease.release();
      this.#state = this.#stop.signal.aborted ? "stopped" : this.#paused > 0 ? "paused" : "starting";
      this.#session = undefined;
      done.resolve();
    }
  }

  /**
   * Stages the changed types (all of them for `undefined`). Returns when to try again (ms), or
   * `undefined` when the batch is done with.
   */
  async #stage(batch: readonly Dirty[] | undefined): Promise<number | undefined> {
    const started = await this.o.runs.start({
      replication: this.replication.name,
      operation: "stage",
      trigger: "watch",
      record: batch === undefined,
      ...(batch
        ? { spec: { resourceTypes: batch.map((d) => qualifiedName(d.type)), includeCustomResources: false } }
        : {}),
    }).catch((error: unknown) => ({ error }));
    const { record, error } = "error" in started
      ? { record: undefined, error: started.error }
      : await started.finished();
    if (error === undefined && record?.report) {
      const now = performance.now();
      for (const d of batch ?? []) {
        for (const seen of d.seen) this.o.metrics.watchApplied(this.replication.name, (now - seen) / 1000);
      }
      return undefined;
    }
    if (error instanceof RunInProgressError || error instanceof LockHeldError) return 500;
    if (error instanceof RefusedError) {
      this.#log.info("changes wait: staging is refused now", { reason: errorMessage(error) });
      return 10_000; // cut over, or an unfinished cutover: the state decides, and is read again then
    }
    this.#log.warn("staging the changes failed; trying again", { error: errorMessage(error) });
    return 2_000;
  }

  /** Watches one type until `signal` aborts, resuming with a relist after an expiry or a failure. */
  async #watchType(
    source: KubeClient,
    type: ResourceType,
    mark: (type: ResourceType) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const namespace = this.replication.source.namespace;
    let resourceVersion: string | undefined;
    for (let attempt = 0; !signal.aborted;) {
      try {
        if (resourceVersion === undefined) {
          const list = await source.request<{ metadata: { resourceVersion?: string } }>({
            method: "GET",
            path: resourcePath(type, namespace),
            query: { limit: 1 },
            signal,
          });
          resourceVersion = list.metadata.resourceVersion;
        }
        const events = await watchObjects(source, type, namespace, {
          ...(resourceVersion ? { resourceVersion } : {}),
          allowBookmarks: true,
          timeoutSeconds: this.o.watchTimeoutSeconds ?? 300,
          signal,
        });
        // the abort ends a pending read at once (the response body alone does not always see it)
        const reader = events.getReader();
        const cancel = () => void reader.cancel().catch(() => {});
        signal.addEventListener("abort", cancel, { once: true });
        try {
          for (;;) {
            const { value: event, done } = await reader.read();
            if (done) break;
            if (event.type === "ERROR") {
              const status = (event.object as unknown as { code?: number }).code;
              throw new KubeApiError({
                status: status ?? 500,
                reason: "WatchError",
                message: "watch error event",
              });
            }
            resourceVersion = event.object.metadata.resourceVersion ?? resourceVersion;
            if (event.type !== "BOOKMARK") mark(type);
          }
        } finally {
          signal.removeEventListener("abort", cancel);
          if (!signal.aborted) void reader.cancel().catch(() => {});
        }
        attempt = 0; // the server ended the watch (its timeout): resume from where it was
      } catch (error) {
        if (signal.aborted) return;
        const expired = error instanceof KubeApiError && error.status === 410;
        this.o.metrics.watchRelist(this.replication.name, expired ? "expired" : "error");
        this.#log.debug("watch resumes with a relist", {
          type: qualifiedName(type),
          error: errorMessage(error),
        });
        resourceVersion = undefined;
        mark(type); // events may have been missed: stage the type again
        if (!expired) await delay(backoff(attempt++), { signal }).catch(() => {});
      }
    }
  }
}
