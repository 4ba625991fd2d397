/**
 * The lock and the state of one replication, kept together in one Lease in the DR namespace
 * (`dr-syncer-<replication>`): the Lease's holder is the lock; its annotation `dr-syncer.io/state`
 * holds the state (active side, cutover progress, last runs). Taking the lock is one write;
 * releasing it and recording the outcome is one more. Functions stay stateless.
 */
import type { KubeClient } from "../kube/kube_client.ts";
import {
  isAlreadyExists,
  isConflict,
  isNotFound,
  isRetryable,
  isUnreachable,
} from "../kube/kube_api_error.ts";
import { withRetry } from "./retry.ts";
import type { KubeObject } from "../kube/types.ts";
import type { RunReport } from "./contracts.ts";
import { LABEL_MANAGED_BY, MANAGED_BY_VALUE } from "./names.ts";

export const ANNOTATION_STATE = "dr-syncer.io/state";
export type Operation = RunReport["operation"];

export interface RunSummary {
  readonly operation: Operation;
  readonly runId: string;
  readonly status: RunReport["status"];
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly dryRun?: boolean;
}

export interface ReplicationState {
  /** Which side serves: "source" until a cutover, "dr" after it, "source" again after failback. */
  readonly activeSide: "source" | "dr";
  /** The steps an unfinished cutover or failback has done, so a re-run can tell where it stopped. */
  readonly progress?: { readonly operation: Operation; readonly steps: readonly string[] } | undefined;
  readonly lastRun?: RunSummary | undefined;
  /** Per operation, when it last succeeded (ISO time). */
  readonly lastSuccess: Readonly<Partial<Record<Operation, string>>>;
}

export const INITIAL_STATE: ReplicationState = { activeSide: "source", lastSuccess: {} };

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
export class LockLostError extends Error {
  override readonly name = "LockLostError";
  constructor(readonly replication: string, detail: string) {
    super(`Lost the lock of replication "${replication}": ${detail}; the run stopped writing`);
  }
}

/** The state record cannot be read: refuse rather than guess (a guess could scale a live side to zero). */
export class StateUnreadableError extends Error {
  override readonly name = "StateUnreadableError";
}

/** Another run holds the replication's lock. */
export class LockHeldError extends Error {
  override readonly name = "LockHeldError";
  constructor(readonly replication: string, readonly holder: string, readonly expiresAt: string) {
    super(`Replication "${replication}" is locked by run "${holder}" until ${expiresAt}`);
  }
}

/**
 * The one Lease per DR namespace that holds the lock and the state. Keyed by the namespace, not by
 * the replication's name, so every way of naming the replication (config, CLI flags) sees the same
 * state: a DR namespace receives one replication.
 */
export const LEASE_NAME = "dr-syncer";

function leasePath(namespace: string, name?: string): string {
  return `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases${
    name ? `/${name}` : ""
  }`;
}

/** MicroTime as the API server wants it: RFC 3339 with microseconds. */
function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

function parseState(lease: Lease | undefined, namespace: string): ReplicationState {
  const raw = lease?.metadata.annotations?.[ANNOTATION_STATE];
  if (raw === undefined) return INITIAL_STATE;
  let parsed: Partial<ReplicationState>;
  try {
    parsed = JSON.parse(raw) as Partial<ReplicationState>;
  } catch (error) {
    parsed = { activeSide: `unparseable (${error instanceof Error ? error.message : error})` as "dr" };
  }
  if (parsed.activeSide !== "source" && parsed.activeSide !== "dr") {
    throw new StateUnreadableError(
      `The state in Lease "${LEASE_NAME}" of namespace "${namespace}" is unreadable (annotation ${ANNOTATION_STATE}): active side ${
        JSON.stringify(parsed.activeSide)
      }; fix or remove the annotation`,
    );
  }
  return { ...INITIAL_STATE, ...parsed, lastSuccess: parsed.lastSuccess ?? {} };
}

async function getLease(client: KubeClient, namespace: string): Promise<Lease | undefined> {
  try {
    return await withRetry(() =>
      client.request<Lease>({ method: "GET", path: leasePath(namespace, LEASE_NAME) })
    );
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** Reads the state kept in a DR namespace; one never staged into (or missing) is on the source side. */
export async function readReplicationState(client: KubeClient, namespace: string): Promise<ReplicationState> {
  return parseState(await getLease(client, namespace), namespace);
}

export interface LockOptions {
  readonly namespace: string;
  readonly replication: string;
  /** Identifies this run (shown to whoever finds the lock held). */
  readonly holder: string;
  /** The lock expires this long after its last renewal (default 60 s); renewed every third of it. */
  readonly leaseSeconds?: number;
  /** How long to wait for a held lock to be released or expire (default 0: fail at once). */
  readonly waitMs?: number;
  readonly now?: () => Date;
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

function expired(lease: Lease, now: Date): boolean {
  const holder = lease.spec?.holderIdentity;
  if (!holder) return true;
  const renewed = Date.parse(lease.spec?.renewTime ?? lease.spec?.acquireTime ?? "");
  const duration = (lease.spec?.leaseDurationSeconds ?? 60) * 1000;
  return Number.isNaN(renewed) || renewed + duration < now.getTime();
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
  const name = LEASE_NAME;
  const deadline = now().getTime() + (options.waitMs ?? 0);
  let lease: Lease;
  for (;;) {
    const current = await getLease(client, options.namespace);
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
        lease = await client.request<Lease>({
          method: "POST",
          path: leasePath(options.namespace),
          body: {
            apiVersion: "coordination.k8s.io/v1",
            kind: "Lease",
            metadata: {
              name,
              labels: { [LABEL_MANAGED_BY]: MANAGED_BY_VALUE },
              annotations: { [ANNOTATION_STATE]: JSON.stringify(INITIAL_STATE) },
            },
            spec,
          },
        });
        break;
      }
      if (expired(current, t)) {
        lease = await client.request<Lease>({
          method: "PUT",
          path: leasePath(options.namespace, name),
          body: { ...current, spec },
        });
        break;
      }
    } catch (error) {
      if (isConflict(error) || isAlreadyExists(error)) continue; // someone else moved first: look again
      throw error;
    }
    if (now().getTime() >= deadline) {
      const renewed = Date.parse(current.spec?.renewTime ?? current.spec?.acquireTime ?? "");
      const expiresAt = new Date(renewed + (current.spec?.leaseDurationSeconds ?? 60) * 1000).toISOString();
      throw new LockHeldError(options.replication, current.spec?.holderIdentity ?? "unknown", expiresAt);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
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
        held = await withRetry(
          () =>
            client.request<Lease>({
              method: "PUT",
              path: leasePath(options.namespace, name),
              body: mutate(held),
            }),
          {
            attempts: 5,
            maxDelayMs: 2_000,
            retryable: (e) => isUnreachable(e) || (isRetryable(e) && !isConflict(e)),
          },
        );
        lastWritten = Date.now();
      } catch (error) {
        if (isConflict(error)) lost.abort(new LockLostError(options.replication, "another run took it over"));
        throw error;
      }
    });
    chain = next.catch(() => {});
    return next;
  };
  const withState = (l: Lease, state: ReplicationState): Lease => ({
    ...l,
    metadata: {
      ...l.metadata,
      annotations: { ...l.metadata.annotations, [ANNOTATION_STATE]: JSON.stringify(state) },
    },
  });
  const timer = setInterval(() => {
    if (Date.now() - lastWritten > leaseSeconds * 900) {
      lost.abort(new LockLostError(options.replication, `it could not be renewed for ${leaseSeconds}s`));
      clearInterval(timer);
      return;
    }
    write((l) => ({ ...l, spec: { ...l.spec, renewTime: microTime(now()) } })).catch(() => {});
  }, (leaseSeconds * 1000) / 3);
  Deno.unrefTimer(timer);
  let latest = parseState(lease, options.namespace);
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
