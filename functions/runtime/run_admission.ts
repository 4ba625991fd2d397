/**
 * Which runs this replica lets start: the runs in progress here and the finished ones it remembers,
 * the refusal of a second run of a replication while one is in progress here (409), the drain that
 * refuses every new run, and the identity of a request (its run id from an Idempotency-Key or a
 * tick, and the hash a repeat must match).
 */
import { createHash } from "node:crypto";
import { RefusedError } from "../../shared/errors.ts";
import { derivedRunId, type RunRecord, type RunTrigger } from "../../shared/runs/mod.ts";
import type { ReplicationSpec } from "../../shared/plan/replication_spec.ts";
import { type AnyOperation, normalizedOptions } from "../operations/mod.ts";

export interface RunRequest {
  readonly replication: string;
  /** The operation's name (the registry's). */
  readonly operation: string;
  /** The operation's options, by the descriptor's keys. */
  readonly options?: Readonly<Record<string, unknown>> | undefined;
  readonly trigger: RunTrigger;
  /** Wait this long for a lock held by another run instead of answering 409 (default 0). */
  readonly waitForLockMs?: number | undefined;
  /**
   * The same key (for the same replication, operation and token) gives the same run, on every
   * replica; another token's same key is another run.
   */
  readonly idempotencyKey?: string | undefined;
  /** Who asks (the token's name): an Idempotency-Key is bound to it. */
  readonly principal?: string | undefined;
  /** A run id fixed by the caller (a schedule tick derives one from its time). */
  readonly runId?: string | undefined;
  /** Keep the run's record in the DR cluster (default true; the watcher's small runs keep none). */
  readonly record?: boolean | undefined;
  /** Narrows the replication for this run (the watcher stages only the types that changed). */
  readonly spec?: Partial<Pick<ReplicationSpec, "resourceTypes" | "includeCustomResources">> | undefined;
}

/** How a run ended: its record, and the error itself when it ended on this replica with one. */
export interface RunOutcome {
  readonly record: RunRecord;
  readonly error?: unknown;
}

export interface StartedRun {
  readonly runId: string;
  /** True when an earlier request (here or on another replica) started this run. */
  readonly repeated: boolean;
  /** Settles when the run has finished; rejects with `signal`'s reason when that comes first. */
  finished(signal?: AbortSignal): Promise<RunOutcome>;
}

/** A run of the replication is in progress on this replica. */
export class RunInProgressError extends RefusedError {
  override readonly name = "RunInProgressError";
  constructor(readonly replication: string, readonly runId: string) {
    super(
      `Replication "${replication}" has a run in progress ("${runId}"); try again when it has finished, or ask to wait for the lock`,
    );
  }
}

/** The runtime is shutting down: it starts no new run, and stops the ones still running after the grace period. */
export class RuntimeDrainingError extends RefusedError {
  override readonly name = "RuntimeDrainingError";
}

/** An Idempotency-Key used again with a different request. */
export class IdempotencyKeyReusedError extends RefusedError {
  override readonly name = "IdempotencyKeyReusedError";
}

/** What a request asks, hashed: a repeat of an Idempotency-Key must ask the same. */
export function requestHash(operation: AnyOperation, request: RunRequest): string {
  const fields = {
    replication: request.replication,
    operation: request.operation,
    ...normalizedOptions(operation, request.options ?? {}),
  };
  return createHash("sha256").update(JSON.stringify(fields)).digest("hex").slice(0, 32);
}

/** The run id of a request: fixed by the caller, derived from its Idempotency-Key, or new. */
export function runIdOf(request: RunRequest): string {
  return request.runId ??
    (request.idempotencyKey !== undefined
      ? derivedRunId(
        "idempotency-key",
        request.replication,
        request.operation,
        request.principal ?? "",
        request.idempotencyKey,
      )
      : crypto.randomUUID());
}

/** Refuses a repeat of an Idempotency-Key that asks something else than the run it names. */
export function checkRepeat(existing: RunRecord, hash: string, request: RunRequest): void {
  if (
    request.idempotencyKey !== undefined && existing.requestHash !== undefined &&
    existing.requestHash !== hash
  ) {
    throw new IdempotencyKeyReusedError(
      `Idempotency-Key "${request.idempotencyKey}" was used for run "${existing.runId}" with a different request: use a new key`,
    );
  }
}

/**
 * A run reserved here: `settle` ends it with its outcome (remembered here); `cancel` forgets it
 * before it ran here, and then `resolve` answers the requests that joined it meanwhile, or `forward`
 * sends them to the run another replica started (each follows it as long as it waits).
 */
export interface Reservation {
  settle(outcome: RunOutcome): void;
  cancel(): void;
  resolve(outcome: RunOutcome): void;
  forward(run: StartedRun): void;
}

/** The runs of this replica. */
export class RunAdmission {
  readonly #active = new Map<
    string,
    { readonly record: RunRecord; readonly done: Promise<RunOutcome | StartedRun> }
  >();
  readonly #recent = new Map<string, RunOutcome>();
  /** Non-dry runs in progress here, by replication. */
  readonly #byReplication = new Map<string, Set<string>>();
  readonly #remembered: number;
  #draining = false;

  constructor(remembered = 200) {
    this.#remembered = remembered;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** From now on every new run is refused. */
  close(): void {
    this.#draining = true;
  }

  /** Throws when the runtime drains. */
  checkOpen(): void {
    if (this.#draining) {
      throw new RuntimeDrainingError(
        "The runtime is shutting down and starts no new run: send it to another replica",
      );
    }
  }

  /** The runs in progress on this replica. */
  get active(): readonly RunRecord[] {
    return [...this.#active.values()].map((a) => a.record);
  }

  /** The runs of `replication` in progress on this replica. */
  activeFor(replication: string): readonly RunRecord[] {
    return this.active.filter((r) => r.replication === replication);
  }

  /** Whether the runs of `replication` that keep others out here are all the watcher's small runs (and one is). */
  watchRunsOnly(replication: string): boolean {
    const running = [...this.#byReplication.get(replication) ?? []];
    return running.length > 0 && running.every((id) => this.#active.get(id)?.record.trigger === "watch");
  }

  /** The record of a run in progress or remembered here. */
  known(runId: string): RunRecord | undefined {
    return this.#active.get(runId)?.record ?? this.#recent.get(runId)?.record;
  }

  /** What the runs in progress here settle with. */
  running(): Promise<RunOutcome | StartedRun>[] {
    return [...this.#active.values()].map((a) => a.done);
  }

  /**
   * Reserves a run before the first await, so that two requests racing end with one run; refuses a
   * second non-dry run of a replication here unless the request waits for the lock.
   */
  reserve(record: RunRecord, waitForLockMs: number): Reservation {
    const running = this.#byReplication.get(record.replication);
    if (!record.dryRun && running && running.size > 0 && waitForLockMs === 0) {
      throw new RunInProgressError(record.replication, [...running][0]!);
    }
    const { promise: done, resolve } = Promise.withResolvers<RunOutcome | StartedRun>();
    this.#active.set(record.runId, { record, done });
    if (!record.dryRun) this.#byReplication.set(record.replication, (running ?? new Set()).add(record.runId));
    const cancel = () => {
      this.#active.delete(record.runId);
      this.#byReplication.get(record.replication)?.delete(record.runId);
    };
    return {
      cancel,
      resolve,
      forward: (run) => {
        cancel();
        resolve(run);
      },
      settle: (outcome) => {
        cancel();
        this.#remember(outcome);
        resolve(outcome);
      },
    };
  }

  #remember(outcome: RunOutcome): void {
    this.#recent.delete(outcome.record.runId);
    this.#recent.set(outcome.record.runId, outcome);
    for (const id of this.#recent.keys()) {
      if (this.#recent.size <= this.#remembered) break;
      this.#recent.delete(id);
    }
  }

  /** A run this replica runs or remembers. */
  local(runId: string, repeated: boolean): StartedRun {
    const done = this.#active.get(runId)?.done ?? Promise.resolve(this.#recent.get(runId)!);
    return {
      runId,
      repeated,
      async finished(signal) {
        const outcome = await untilSettled(done, signal);
        return "finished" in outcome ? await outcome.finished(signal) : outcome;
      },
    };
  }
}

/** `done`, or `signal`'s reason when that comes first. */
export function untilSettled<T>(done: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return done;
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const abort = () => reject(signal.reason);
    signal.addEventListener("abort", abort, { once: true });
    done.then((o) => {
      signal.removeEventListener("abort", abort);
      resolve(o);
    }, (error) => {
      signal.removeEventListener("abort", abort);
      reject(error);
    });
  });
}
