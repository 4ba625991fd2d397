/**
 * The lock of one replication: the holder of its Lease in the DR namespace (the Lease's
 * annotation holds the state record, see `replication_state.ts`). Taking the lock is one write;
 * releasing it and recording the outcome is one more.
 *
 * A fence, judged on one clock, the DR API server's:
 * - **Expiry.** A held lock expires `leaseDurationSeconds` after the Lease was last written, by the
 *   time the API server stamped on that write (the `time` of its managedFields entries), against the
 *   API server's current time (the `creationTimestamp` a dry-run create of a Lease gets). Both are
 *   whole seconds, so one more second is added. The holder's own timestamps (`renewTime`) and the
 *   clock of the machine that looks are never compared: a taker whose clock is off, or a holder
 *   whose clock is, changes nothing. A lock whose holder is gone is so free as soon as its lease
 *   has passed, for a single attempt too (a re-run after a crash needs no wait).
 * - **The holder's deadline.** The holder renews every sixth of its lease and must have had a renewal
 *   accepted within two thirds of it (counted from when that renewal was sent, on its monotonic
 *   clock): otherwise its signal aborts and it stops writing, a third of the lease before anyone
 *   can take the lock. A renewal that is slow, fails, or hangs on a stalled API server so never
 *   lets the holder write past its lease.
 */
import { delay } from "../async/delay.ts";
import { ClusterError, RefusedError } from "../errors.ts";
import {
  isAlreadyExists,
  isConflict,
  isRetryable,
  isUnreachable,
  KubeApiError,
} from "../kube/kube_api_error.ts";
import type { KubeClient } from "../kube/kube_client.ts";
import { withRetry } from "../kube/retry.ts";
import { type KubeObject, LEASES, resourcePath } from "../kube/types.ts";
import { createObject, getObject, replaceObject, watchObjects } from "../kube/verbs.ts";
import { LABEL_MANAGED_BY, MANAGED_BY_VALUE } from "../plan/names.ts";
import {
  ANNOTATION_STATE,
  formatReplicationState,
  INITIAL_STATE,
  LEASE_NAME,
  parseReplicationState,
  type ReplicationState,
} from "./replication_state.ts";

/** The Lease that holds a replication's lock and state. */
export interface Lease extends KubeObject {
  spec?: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number;
    acquireTime?: string | null;
    renewTime?: string | null;
    leaseTransitions?: number;
  };
}

/** A holder must have had a renewal accepted within this part of its lease, or it stops writing. */
export const RENEW_DEADLINE_FRACTION = 2 / 3;
/** A holder renews this often (a part of its lease): several tries fit before the deadline. */
export const RENEW_EVERY_FRACTION = 1 / 6;
/** The API server keeps managedFields times and creation timestamps in whole seconds. */
const SERVER_CLOCK_STEP_MS = 1_000;
/** The field manager of the dry-run creates that read the API server's clock (never stored). */
const CLOCK_FIELD_MANAGER = "dr-syncer-clock";

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
    /** When the lock is free if its holder does not renew it (judged on the API server's clock). */
    readonly expiresAt: string,
    readonly leaseSeconds = 60,
  ) {
    super(
      `Replication "${replication}" is locked by run "${holder}": if that run is gone, its lock expires ${leaseSeconds} s after its last renewal, by the DR API server's clock (at ${expiresAt} at the latest, unless it is renewed); run the command again then, or wait for it with --wait-for-lock ${
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
  return (await readStateLease(client, namespace, options)).state;
}

/**
 * The state and the Lease it was read from (null: none), which `acquireReplicationLock` may start
 * from (`known`) instead of reading it again.
 */
export async function readStateLease(
  client: KubeClient,
  namespace: string,
  options: { readonly signal?: AbortSignal | undefined } = {},
): Promise<{ state: ReplicationState; lease: Lease | null }> {
  const lease = await getLease(client, namespace, options.signal);
  return { state: parseReplicationState(lease?.metadata.annotations, namespace), lease: lease ?? null };
}

/** The lock as the Lease shows it (for the status and metrics; not a judgement of expiry). */
export interface LockView {
  readonly holder: string;
  /** When the holder took it (the holder's clock). */
  readonly acquiredAt?: string | undefined;
  /** When the holder last renewed it (the holder's clock). */
  readonly renewedAt?: string | undefined;
  readonly leaseSeconds: number;
}

/** The state and the lock of a DR namespace in one read of its Lease. */
export async function readReplicationLease(
  client: KubeClient,
  namespace: string,
  options: { readonly signal?: AbortSignal | undefined } = {},
): Promise<{ state: ReplicationState; lock?: LockView | undefined }> {
  const lease = await getLease(client, namespace, options.signal);
  const state = parseReplicationState(lease?.metadata.annotations, namespace);
  const holder = lease?.spec?.holderIdentity;
  if (!holder) return { state };
  return {
    state,
    lock: {
      holder,
      acquiredAt: lease.spec?.acquireTime ?? undefined,
      renewedAt: lease.spec?.renewTime ?? undefined,
      leaseSeconds: lease.spec?.leaseDurationSeconds ?? 60,
    },
  };
}

/**
 * When the API server last wrote `lease`, on its own clock: the latest `time` of its managedFields
 * entries (the server sets it on every write that changes a field; whole seconds, rounded down).
 * `undefined` when the Lease carries none.
 */
export function lastServerWrite(lease: KubeObject): number | undefined {
  const entries = lease.metadata.managedFields;
  if (!Array.isArray(entries)) return undefined;
  let latest: number | undefined;
  for (const entry of entries) {
    const time = (entry as { time?: unknown } | null)?.time;
    const at = typeof time === "string" ? Date.parse(time) : NaN;
    if (!Number.isNaN(at) && (latest === undefined || at > latest)) latest = at;
  }
  return latest;
}

/**
 * The API server's current time, on its own clock: the creationTimestamp it gives a Lease in a
 * dry-run create (nothing is stored; whole seconds, rounded down). Needs `create` on Leases in
 * `namespace`, which a lock holder has anyway.
 */
export async function apiServerNow(
  client: KubeClient,
  namespace: string,
  signal?: AbortSignal,
): Promise<number> {
  const probe = await client.request<KubeObject>({
    method: "POST",
    path: resourcePath(LEASES, namespace),
    query: { dryRun: "All", fieldManager: CLOCK_FIELD_MANAGER },
    body: {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { generateName: "dr-syncer-clock-", namespace },
    },
    signal,
  });
  const at = Date.parse(probe?.metadata?.creationTimestamp ?? "");
  if (Number.isNaN(at)) throw new TypeError("The API server gave the dry-run Lease no creationTimestamp");
  return at;
}

/** What changes whenever the holder renews: while it stays the same, the holder is not renewing. */
function renewalKey(lease: Lease): string {
  return JSON.stringify([lease.spec?.holderIdentity, lease.spec?.renewTime, lease.metadata.resourceVersion]);
}

/**
 * Judges when a held lock expires, on the API server's clock (see the top of this file). The
 * server's time is read with a dry-run create, then followed on this process's monotonic clock
 * only to decide when to read it again: a lock is found expired only by a fresh reading. A Lease
 * without managedFields times, or a server that refuses the dry run, is judged as client-go's
 * leader election does instead: seen unchanged for its lease on this process's monotonic clock.
 */
export class LockExpiry {
  /** The server's time (a lower bound) at this process's monotonic `at`. */
  #clock: { readonly serverMs: number; readonly at: number } | undefined;
  #observeOnly = false;
  #seen: { key: string; at: number } | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly namespace: string,
    private readonly signal?: AbortSignal | undefined,
  ) {}

  /** Milliseconds until `lease` expires if nobody writes it (<= 0: expired; a free lease: 0). */
  async remainingMs(lease: Lease): Promise<number> {
    if (!lease.spec?.holderIdentity) return 0;
    const leaseMs = (lease.spec.leaseDurationSeconds ?? 60) * 1000;
    const written = this.#observeOnly ? undefined : lastServerWrite(lease);
    if (written === undefined) return this.#observed(lease, leaseMs);
    const expires = written + SERVER_CLOCK_STEP_MS + leaseMs;
    if (this.#clock !== undefined) {
      const estimate = expires - (this.#clock.serverMs + performance.now() - this.#clock.at);
      if (estimate > 0) return estimate; // not yet: the estimate never says "expired" too early
    }
    let serverMs: number;
    try {
      serverMs = await apiServerNow(this.client, this.namespace, this.signal);
    } catch (error) {
      if (!(error instanceof KubeApiError)) throw error;
      this.#observeOnly = true; // no dry run here (RBAC, a webhook without dry-run support)
      return this.#observed(lease, leaseMs);
    }
    this.#clock = { serverMs, at: performance.now() };
    return expires - serverMs;
  }

  #observed(lease: Lease, leaseMs: number): number {
    const key = renewalKey(lease);
    if (this.#seen?.key !== key) this.#seen = { key, at: performance.now() };
    return this.#seen.at + leaseMs - performance.now();
  }
}

/**
 * Who holds a replication's lock, as one read sees it (`undefined`: nobody, or a holder whose lease
 * has passed by the API server's clock: the lock is free to take). The same judgement as taking
 * the lock.
 */
export async function readLockHolder(
  client: KubeClient,
  namespace: string,
  now: Date = new Date(),
  options: { readonly signal?: AbortSignal | undefined } = {},
): Promise<{ holder: string; expiresAt: string; leaseSeconds: number } | undefined> {
  const lease = await getLease(client, namespace, options.signal);
  const holder = lease?.spec?.holderIdentity;
  if (!holder) return undefined;
  const remaining = await new LockExpiry(client, namespace, options.signal).remainingMs(lease);
  if (remaining <= 0) return undefined;
  const leaseSeconds = lease.spec?.leaseDurationSeconds ?? 60;
  return { holder, leaseSeconds, expiresAt: new Date(now.getTime() + remaining).toISOString() };
}

export interface LockOptions {
  readonly namespace: string;
  readonly replication: string;
  /** The Lease (default `LEASE_NAME`, the replication's lock and state; pvc-sync locks claims by name). */
  readonly leaseName?: string;
  /** Identifies this run (shown to whoever finds the lock held). */
  readonly holder: string;
  /**
   * The lock expires this long after its last write (default 60 s); renewed every sixth of it, and
   * given up (the signal aborts) when no renewal succeeded for two thirds of it.
   */
  readonly leaseSeconds?: number;
  /** How long to wait for a held lock to be released or expire (default 0: fail at once). */
  readonly waitMs?: number;
  readonly now?: () => Date;
  /** Stops waiting for a held lock. */
  readonly signal?: AbortSignal | undefined;
  /**
   * The Lease as a read just before found it (null: none). The first attempt writes over that
   * version instead of reading it again; when it changed meanwhile, the write conflicts and the
   * Lease is read again (optimistic concurrency keeps this as safe as reading first).
   */
  readonly known?: Lease | null | undefined;
}

export interface ReplicationLock {
  /** The state as found when the lock was taken, then as last recorded by `update`. */
  readonly state: ReplicationState;
  /**
   * The lock was taken by the first write, over the very Lease the caller read (`known`): nothing
   * wrote the Lease between that read and the taking. When that Lease was free, no run held the lock
   * in between, so what the caller read after its read of the Lease was read as under the lock.
   */
  readonly overKnown: boolean;
  /**
   * Aborted when the lock is lost (taken over, or no renewal accepted by the renew deadline):
   * writers stop at once.
   */
  readonly signal: AbortSignal;
  /** Records progress while holding the lock (one write; it renews the lock too). */
  update(state: ReplicationState): Promise<void>;
  /** Records the final state and releases the lock (one write). */
  release(state: ReplicationState): Promise<void>;
}

/** A Lease to send in an update: without managedFields, which the server then keeps and stamps itself. */
function forUpdate(lease: Lease): Lease {
  const { managedFields: _managedFields, ...metadata } = lease.metadata;
  return { ...lease, metadata };
}

/**
 * Takes the replication's lock: creates the Lease, or takes it over when free or expired (a run
 * that crashed leaves a lock behind that expires a lease after its last renewal). Optimistic
 * concurrency (resourceVersion) makes two runs racing for it end with one winner, and a takeover
 * happens only over the very version judged expired.
 */
export async function acquireReplicationLock(
  client: KubeClient,
  options: LockOptions,
): Promise<ReplicationLock> {
  const now = options.now ?? (() => new Date());
  const leaseSeconds = options.leaseSeconds ?? 60;
  const deadline = performance.now() + (options.waitMs ?? 0);
  const expiry = new LockExpiry(client, options.namespace, options.signal);
  let lease: Lease;
  let sentAt: number;
  /** Writes whose answer was a passing failure (429, 5xx, a timeout), and when the first was sent. */
  let passing = 0;
  let unansweredAt: number | undefined;
  let known = options.known;
  let overKnown = false;
  /** The Lease as a watch of it just delivered it (null: deleted), while waiting for a held lock. */
  let watched: Lease | null | undefined;
  for (;;) {
    overKnown = known !== undefined;
    const current = known !== undefined
      ? known ?? undefined
      : watched !== undefined
      ? watched ?? undefined
      : await getLease(client, options.namespace, options.signal, options.leaseName);
    known = undefined;
    watched = undefined;
    if (unansweredAt !== undefined && current?.spec?.holderIdentity === options.holder) {
      // a write of ours that failed in passing was applied after all: the lock is ours
      lease = current;
      sentAt = unansweredAt;
      overKnown = false;
      break;
    }
    const remaining = current ? await expiry.remainingMs(current) : 0;
    const t = now();
    const spec = {
      holderIdentity: options.holder,
      leaseDurationSeconds: leaseSeconds,
      acquireTime: microTime(t),
      renewTime: microTime(t),
      leaseTransitions: (current?.spec?.leaseTransitions ?? 0) + (current ? 1 : 0),
    };
    try {
      if (!current) {
        sentAt = performance.now();
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
        }, { signal: options.signal });
        break;
      }
      if (remaining <= 0) {
        sentAt = performance.now();
        lease = await replaceObject<Lease>(client, LEASES, forUpdate({ ...current, spec }), {
          signal: options.signal,
        });
        break;
      }
    } catch (error) {
      if (isConflict(error) || isAlreadyExists(error)) continue; // someone else moved first: look again
      // throttled or a passing failure (a busy API server): look again after a pause, a few times
      if (!isRetryable(error) || ++passing >= 6) throw error;
      unansweredAt ??= sentAt!;
      const retryAfterMs = error instanceof KubeApiError && error.retryAfterSeconds
        ? error.retryAfterSeconds * 1000
        : 0;
      await delay(Math.min(5_000, Math.max(retryAfterMs, 100 * 2 ** (passing - 1))), {
        signal: options.signal,
      });
      continue;
    }
    if (performance.now() >= deadline) {
      throw new LockHeldError(
        options.replication,
        current.spec?.holderIdentity ?? "unknown",
        new Date(Date.now() + remaining).toISOString(),
        current.spec?.leaseDurationSeconds ?? 60,
      );
    }
    watched = await leaseChange(
      client,
      options.namespace,
      options.leaseName ?? LEASE_NAME,
      current,
      Math.max(10, Math.min(remaining, deadline - performance.now())),
      options.signal,
    );
  }
  return holdLock(client, options, leaseSeconds, lease, sentAt, overKnown);
}

/** Clients that may not watch a Lease (namespace/name): they look again every `LOCK_POLL_MS` instead. */
const leaseWatchRefused = new WeakMap<KubeClient, Set<string>>();
/** How often a waiter without a watch reads a held Lease again. */
const LOCK_POLL_MS = 250;

/**
 * Waits, for at most `ms`, for the held Lease `current` to change: a watch of that Lease alone, from the
 * version read, so that a waiter learns of a release (or a renewal) as it is written rather than at its next
 * read. Returns the Lease as the watch delivered it (null: deleted); undefined when no change was seen (the
 * time passed, the watch ended or failed, or it may not be used: no `watch` right on the Lease, as for rights
 * granted before the waiters watched), after at most the pause of the waiters before (`LOCK_POLL_MS`); the
 * caller then reads the Lease again.
 */
async function leaseChange(
  client: KubeClient,
  namespace: string,
  name: string,
  current: Lease,
  ms: number,
  signal: AbortSignal | undefined,
): Promise<Lease | null | undefined> {
  const until = performance.now() + ms;
  const key = `${namespace}/${name}`;
  const resourceVersion = current.metadata.resourceVersion;
  if (resourceVersion !== undefined && !leaseWatchRefused.get(client)?.has(key)) {
    const seen = await watchLease(client, namespace, name, resourceVersion, ms, signal).catch((error) => {
      signal?.throwIfAborted();
      if (error instanceof KubeApiError && error.status === 403) {
        leaseWatchRefused.set(client, (leaseWatchRefused.get(client) ?? new Set<string>()).add(key));
      }
      return undefined;
    });
    if (seen !== undefined) return seen;
  }
  await delay(Math.max(0, Math.min(LOCK_POLL_MS, until - performance.now())), { signal });
  return undefined;
}

/** The first change of Lease `name` after `resourceVersion` (null: deleted), or undefined once `ms` passed. */
async function watchLease(
  client: KubeClient,
  namespace: string,
  name: string,
  resourceVersion: string,
  ms: number,
  signal: AbortSignal | undefined,
): Promise<Lease | null | undefined> {
  const time = new AbortController();
  const timer = setTimeout(() => time.abort(), ms);
  try {
    const events = await watchObjects<Lease>(client, LEASES, namespace, {
      resourceVersion,
      fieldSelector: `metadata.name=${name}`,
      allowBookmarks: false,
      timeoutSeconds: Math.ceil(ms / 1000) + 1,
      signal: signal ? AbortSignal.any([signal, time.signal]) : time.signal,
    });
    for await (const event of events) {
      if (event.type === "MODIFIED" || event.type === "ADDED") return event.object;
      if (event.type === "DELETED") return null;
      if (event.type === "ERROR") break; // the version is too old (410): read it again
    }
    return undefined;
  } catch (error) {
    if (time.signal.aborted && !signal?.aborted) return undefined;
    throw error;
  } finally {
    clearTimeout(timer);
    time.abort(); // ends the watch's request
  }
}

/** Keeps a lock just taken (`lease`, its write sent at monotonic `sentAt`) renewed, until it is released or lost. */
function holdLock(
  client: KubeClient,
  options: LockOptions,
  leaseSeconds: number,
  lease: Lease,
  sentAt: number,
  overKnown: boolean,
): ReplicationLock {
  const now = options.now ?? (() => new Date());
  const leaseMs = leaseSeconds * 1000;
  const renewDeadlineMs = leaseMs * RENEW_DEADLINE_FRACTION;
  let held: Lease = lease;
  let chain = Promise.resolve();
  let pending = 0;
  const lost = new AbortController();
  /** When the last write the API server accepted was sent (monotonic): the server stamped it later. */
  let renewedAt = sentAt;
  let deadlineTimer: ReturnType<typeof setTimeout> | undefined;
  // `renewTimer` is set below, once `write` exists (the timers call `stopTimers` only later)
  const stopTimers = () => {
    clearTimeout(deadlineTimer);
    clearInterval(renewTimer);
  };
  const lose = (error: LockLostError) => {
    stopTimers();
    if (!lost.signal.aborted) lost.abort(error);
  };
  const armDeadline = () => {
    clearTimeout(deadlineTimer);
    deadlineTimer = setTimeout(
      () =>
        lose(
          new LockLostError(
            options.replication,
            `no renewal was accepted for ${
              Math.round(renewDeadlineMs / 100) / 10
            } s (its renew deadline, 2/3 of its ${leaseSeconds} s lease)`,
          ),
        ),
      Math.max(0, renewedAt + renewDeadlineMs - performance.now()),
    );
    Deno.unrefTimer(deadlineTimer);
  };
  armDeadline();

  // Every write goes through `chain`, so renewals and updates never race each other. Passing
  // failures (5xx, 429, timeouts) are retried; a conflict means another run took the lock. Each
  // accepted write renews the lock (the API server stamps its time), from when it was sent.
  const write = (mutate: (l: Lease) => Lease) => {
    pending++;
    const next = chain.then(async () => {
      lost.signal.throwIfAborted();
      try {
        // a lock that is lost stops its writes at once (a renewal stuck on a cut network among them)
        held = await withRetry(
          async () => {
            const sent = performance.now();
            const written = await replaceObject<Lease>(client, LEASES, forUpdate(mutate(held)), {
              signal: lost.signal,
            });
            if (!lost.signal.aborted && sent > renewedAt) {
              renewedAt = sent;
              armDeadline();
            }
            return written;
          },
          {
            attempts: 5,
            maxDelayMs: 2_000,
            retryable: (e) => isUnreachable(e) || (isRetryable(e) && !isConflict(e)),
            signal: lost.signal,
          },
        );
      } catch (error) {
        if (isConflict(error)) lose(new LockLostError(options.replication, "another run took it over"));
        throw error;
      }
    }).finally(() => pending--);
    chain = next.catch(() => {}); // the caller of `write` sees the failure; the chain goes on
    return next;
  };
  const renewed = (l: Lease): Lease => ({ ...l, spec: { ...l.spec, renewTime: microTime(now()) } });
  const withState = (l: Lease, state: ReplicationState): Lease => ({
    ...renewed(l),
    metadata: {
      ...l.metadata,
      annotations: { ...l.metadata.annotations, [ANNOTATION_STATE]: formatReplicationState(state) },
    },
  });
  const renewTimer = setInterval(() => {
    // a write in flight renews the lock when it lands; a failed renewal is tried again at the next tick
    if (pending === 0) write(renewed).catch(() => {});
  }, Math.max(50, leaseMs * RENEW_EVERY_FRACTION));
  Deno.unrefTimer(renewTimer);
  let latest = parseReplicationState(lease.metadata.annotations, options.namespace);
  return {
    get state() {
      return latest;
    },
    overKnown,
    signal: lost.signal,
    update(state) {
      latest = state;
      return write((l) => withState(l, state));
    },
    async release(state) {
      latest = state;
      const released = write((l) => ({
        ...withState(l, state),
        spec: { ...l.spec, holderIdentity: null, acquireTime: null, renewTime: null },
      }));
      clearInterval(renewTimer); // no renewal after the release; the deadline still guards it
      try {
        await released;
      } finally {
        stopTimers();
      }
    },
  };
}
