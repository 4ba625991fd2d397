/**
 * The lock of one replication: the holder of its Lease in the DR namespace (the Lease's
 * annotation holds the state record, see `replication_state.ts`). Taking the lock is one write;
 * releasing it and recording the outcome is one more. A held lock is renewed every third of its
 * duration; a run that loses it (taken over, or not renewed in time) gets its signal aborted and
 * must stop writing.
 */
import { delay } from "../async/delay.ts";
import { ClusterError, RefusedError } from "../errors.ts";
import { isAlreadyExists, isConflict, isRetryable, isUnreachable } from "../kube/kube_api_error.ts";
import type { KubeClient } from "../kube/kube_client.ts";
import { withRetry } from "../kube/retry.ts";
import { type KubeObject, LEASES } from "../kube/types.ts";
import { createObject, getObject, replaceObject } from "../kube/verbs.ts";
import { LABEL_MANAGED_BY, MANAGED_BY_VALUE } from "../plan/names.ts";
import {
  ANNOTATION_STATE,
  formatReplicationState,
  INITIAL_STATE,
  LEASE_NAME,
  parseReplicationState,
  type ReplicationState,
} from "./replication_state.ts";

interface Lease extends KubeObject {
  spec?: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number;
    acquireTime?: string | null;
    renewTime?: string | null;
    leaseTransitions?: number;
  };
}

/** The lock was lost while a run held it: the run must stop writing. */
export class LockLostError extends ClusterError {
  override readonly name = "LockLostError";
  constructor(readonly replication: string, detail: string) {
    super(`Lost the lock of replication "${replication}": ${detail}; the run stopped writing`);
  }
}

/** Another run holds the replication's lock. */
export class LockHeldError extends RefusedError {
  override readonly name = "LockHeldError";
  constructor(
    readonly replication: string,
    readonly holder: string,
    /** The latest time the lock is free if its holder is gone (it expires unrenewed by then). */
    readonly expiresAt: string,
    readonly leaseSeconds = 60,
  ) {
    super(
      `Replication "${replication}" is locked by run "${holder}": if that run is gone, its lock expires ${leaseSeconds} s after its last renewal seen here (at ${expiresAt} at the latest); wait for it with --wait-for-lock ${
        leaseSeconds + 5
      }`,
    );
  }
}

/** MicroTime as the API server wants it: RFC 3339 with microseconds. */
function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

const getLease = (client: KubeClient, namespace: string, signal?: AbortSignal, name = LEASE_NAME) =>
  getObject<Lease>(client, LEASES, namespace, name, { signal });

/** Reads the state kept in a DR namespace; one never staged into (or missing) is on the source side. */
export async function readReplicationState(
  client: KubeClient,
  namespace: string,
  options: { readonly signal?: AbortSignal | undefined } = {},
): Promise<ReplicationState> {
  const lease = await getLease(client, namespace, options.signal);
  return parseReplicationState(lease?.metadata.annotations, namespace);
}

/**
 * Who holds a replication's lock, as one read sees it (`undefined`: nobody). Like the lock itself,
 * this never compares the holder's timestamps with this machine's clock: a Lease with a holder is
 * held (a crashed holder's lock is taken by a run that waits for it).
 */
export async function readLockHolder(
  client: KubeClient,
  namespace: string,
  now: Date = new Date(),
): Promise<{ holder: string; expiresAt: string; leaseSeconds: number } | undefined> {
  const lease = await getLease(client, namespace);
  const holder = lease?.spec?.holderIdentity;
  if (!holder) return undefined;
  const leaseSeconds = lease.spec?.leaseDurationSeconds ?? 60;
  return { holder, leaseSeconds, expiresAt: new Date(now.getTime() + leaseSeconds * 1000).toISOString() };
}

export interface LockOptions {
  readonly namespace: string;
  readonly replication: string;
  /** The Lease (default `LEASE_NAME`, the replication's lock and state; pvc-sync locks claims by name). */
  readonly leaseName?: string;
  /** Identifies this run (shown to whoever finds the lock held). */
  readonly holder: string;
  /** The lock expires this long after its last renewal (default 60 s); renewed every third of it. */
  readonly leaseSeconds?: number;
  /** How long to wait for a held lock to be released or expire (default 0: fail at once). */
  readonly waitMs?: number;
  readonly now?: () => Date;
  /** Stops waiting for a held lock. */
  readonly signal?: AbortSignal | undefined;
}

export interface ReplicationLock {
  /** The state as found when the lock was taken, then as last recorded by `update`. */
  readonly state: ReplicationState;
  /** Aborted when the lock is lost (taken over, or not renewed in time): writers stop at once. */
  readonly signal: AbortSignal;
  /** Records progress while holding the lock (one write). */
  update(state: ReplicationState): Promise<void>;
  /** Records the final state and releases the lock (one write). */
  release(state: ReplicationState): Promise<void>;
}

/** What changes whenever the holder renews: while it stays the same, the holder is not renewing. */
function renewalKey(lease: Lease): string {
  return JSON.stringify([lease.spec?.holderIdentity, lease.spec?.renewTime, lease.metadata.resourceVersion]);
}

/**
 * Judges a held lock's expiry as client-go's leader election does: by how long this process has
 * seen the Lease unchanged on its own monotonic clock, never by comparing the holder's
 * timestamps with this machine's clock (the two clocks may disagree).
 */
class ExpiryWatch {
  #seen: { key: string; at: number } | undefined;

  /** Milliseconds until `lease` expires if it stays unchanged (<= 0: expired; a free lease: 0). */
  remainingMs(lease: Lease): number {
    if (!lease.spec?.holderIdentity) return 0;
    const key = renewalKey(lease);
    if (this.#seen?.key !== key) this.#seen = { key, at: performance.now() };
    const duration = (lease.spec.leaseDurationSeconds ?? 60) * 1000;
    return this.#seen.at + duration - performance.now();
  }
}

/**
 * Takes the replication's lock: creates the Lease, or takes it over when free or expired (a run
 * that crashed leaves an expired lock behind). Optimistic concurrency (resourceVersion) makes two
 * runs racing for it end with one winner.
 */
export async function acquireReplicationLock(
  client: KubeClient,
  options: LockOptions,
): Promise<ReplicationLock> {
  const now = options.now ?? (() => new Date());
  const leaseSeconds = options.leaseSeconds ?? 60;
  const deadline = performance.now() + (options.waitMs ?? 0);
  const watch = new ExpiryWatch();
  let lease: Lease;
  for (;;) {
    const current = await getLease(client, options.namespace, options.signal, options.leaseName);
    const t = now();
    const remaining = current ? watch.remainingMs(current) : 0;
    const spec = {
      holderIdentity: options.holder,
      leaseDurationSeconds: leaseSeconds,
      acquireTime: microTime(t),
      renewTime: microTime(t),
      leaseTransitions: (current?.spec?.leaseTransitions ?? 0) + (current ? 1 : 0),
    };
    try {
      if (!current) {
        lease = await createObject<Lease>(client, LEASES, {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: {
            name: options.leaseName ?? LEASE_NAME,
            namespace: options.namespace,
            labels: { [LABEL_MANAGED_BY]: MANAGED_BY_VALUE },
            annotations: { [ANNOTATION_STATE]: formatReplicationState(INITIAL_STATE) },
          },
          spec,
        });
        break;
      }
      if (remaining <= 0) {
        lease = await replaceObject<Lease>(client, LEASES, { ...current, spec });
        break;
      }
    } catch (error) {
      if (isConflict(error) || isAlreadyExists(error)) continue; // someone else moved first: look again
      throw error;
    }
    if (performance.now() >= deadline) {
      throw new LockHeldError(
        options.replication,
        current.spec?.holderIdentity ?? "unknown",
        new Date(t.getTime() + remaining).toISOString(),
        current.spec?.leaseDurationSeconds ?? 60,
      );
    }
    await delay(Math.max(10, Math.min(250, remaining, deadline - performance.now())), {
      signal: options.signal,
    });
  }

  let held: Lease = lease;
  let chain = Promise.resolve();
  const lost = new AbortController();
  let lastWritten = Date.now(); // local clock: when the API server last accepted our write
  // Every write goes through `chain`, so renewals and updates never race each other. Passing
  // failures (5xx, 429, timeouts) are retried; a conflict means another run took the lock.
  const write = (mutate: (l: Lease) => Lease) => {
    const next = chain.then(async () => {
      lost.signal.throwIfAborted();
      try {
        // a lock that is lost stops its writes at once (a renewal stuck on a cut network among them)
        held = await withRetry(
          () => replaceObject<Lease>(client, LEASES, mutate(held), { signal: lost.signal }),
          {
            attempts: 5,
            maxDelayMs: 2_000,
            retryable: (e) => isUnreachable(e) || (isRetryable(e) && !isConflict(e)),
            signal: lost.signal,
          },
        );
        lastWritten = Date.now();
      } catch (error) {
        if (isConflict(error)) lost.abort(new LockLostError(options.replication, "another run took it over"));
        throw error;
      }
    });
    chain = next.catch(() => {}); // the caller of `write` sees the failure; the chain goes on
    return next;
  };
  const withState = (l: Lease, state: ReplicationState): Lease => ({
    ...l,
    metadata: {
      ...l.metadata,
      annotations: { ...l.metadata.annotations, [ANNOTATION_STATE]: formatReplicationState(state) },
    },
  });
  const timer = setInterval(() => {
    if (Date.now() - lastWritten > leaseSeconds * 900) {
      lost.abort(new LockLostError(options.replication, `it could not be renewed for ${leaseSeconds}s`));
      clearInterval(timer);
      return;
    }
    // a failed renewal is retried at the next tick; after 90% of the lease the lock counts as lost
    write((l) => ({ ...l, spec: { ...l.spec, renewTime: microTime(now()) } })).catch(() => {});
  }, (leaseSeconds * 1000) / 3);
  Deno.unrefTimer(timer);
  let latest = parseReplicationState(lease.metadata.annotations, options.namespace);
  return {
    get state() {
      return latest;
    },
    signal: lost.signal,
    update(state) {
      latest = state;
      return write((l) => withState(l, state));
    },
    async release(state) {
      clearInterval(timer);
      latest = state;
      await write((l) => ({
        ...withState(l, state),
        spec: { ...l.spec, holderIdentity: null, acquireTime: null, renewTime: null },
      }));
    },
  };
}
