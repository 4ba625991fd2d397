/**
 * Who may hold a connection to the agent, and for how long, so that connections that never log in cannot
 * take the places of transfers (docs/agent.md "Limits"):
 *
 * - a connection is *unauthenticated* from its first byte until its key is accepted: at most
 *   `maxUnauthenticatedPerAddress` of them per remote address and `maxUnauthenticated` in all, each closed
 *   after the login timeout (the agent's own timer). When all places are taken, a connection from an address
 *   holding fewer of them takes the oldest place of the address holding the most (so a flood from a few
 *   addresses cannot lock everyone else out), else it is refused;
 * - an *authenticated* connection (a session, one transfer) is counted apart: at most `maxSessions`; a key
 *   accepted when they are all taken is refused, so the connection never holds a place for nothing.
 *
 * Pure bookkeeping (no sockets, no timers), unit-tested; `RefusalLog` keeps the log of refusals bounded.
 */
import type { Logger } from "../shared/log/mod.ts";

export interface ConnectionLimits {
  /** Authenticated connections (transfers) at a time. */
  readonly maxSessions: number;
  /** Connections not logged in yet, in all. */
  readonly maxUnauthenticated: number;
  /** Connections not logged in yet, from one remote address. */
  readonly maxUnauthenticatedPerAddress: number;
}

/** Why a connection is refused (also the key of the refusal summary). */
export type RefusalReason =
  | "shutting down"
  | "too many unauthenticated connections from this address"
  | "too many unauthenticated connections"
  | "session limit reached";

/** The address a connection is counted under: IPv4-mapped IPv6 addresses as plain IPv4. */
export function addressKey(address: string | undefined): string {
  if (address === undefined || address === "") return "unknown";
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}

/** The agent's connections by state; `T` is whatever the caller keeps per connection. */
export class Admission<T> {
  readonly #limits: ConnectionLimits;
  /** Unauthenticated connections by address, oldest first. */
  readonly #pending = new Map<string, T[]>();
  readonly #addressOf = new Map<T, string>();
  readonly #sessions = new Set<T>();
  #pendingCount = 0;

  constructor(limits: ConnectionLimits) {
    this.#limits = limits;
  }

  get unauthenticated(): number {
    return this.#pendingCount;
  }

  get sessions(): number {
    return this.#sessions.size;
  }

  /**
   * A new connection from `address`: admitted (maybe in the place of an `evicted` one, which the caller
   * closes), or refused with the reason.
   */
  admit(
    address: string,
    connection: T,
  ): { admitted: true; evicted?: T } | { admitted: false; reason: RefusalReason } {
    const mine = this.#pending.get(address) ?? [];
    if (mine.length >= this.#limits.maxUnauthenticatedPerAddress) {
      return { admitted: false, reason: "too many unauthenticated connections from this address" };
    }
    let evicted: T | undefined;
    if (this.#pendingCount >= this.#limits.maxUnauthenticated) {
      let busiest: T[] = [];
      for (const list of this.#pending.values()) if (list.length > busiest.length) busiest = list;
      if (busiest.length <= mine.length + 1) {
        return { admitted: false, reason: "too many unauthenticated connections" };
      }
      evicted = busiest[0]!;
      this.release(evicted);
    }
    mine.push(connection);
    this.#pending.set(address, mine);
    this.#addressOf.set(connection, address);
    this.#pendingCount++;
    return evicted === undefined ? { admitted: true } : { admitted: true, evicted };
  }

  /** The connection's key was accepted: it becomes a session if there is room (true), else stays as it was. */
  authenticate(connection: T): boolean {
    if (this.#sessions.has(connection)) return true;
    if (this.#sessions.size >= this.#limits.maxSessions) return false;
    this.#forgetPending(connection);
    this.#sessions.add(connection);
    return true;
  }

  isSession(connection: T): boolean {
    return this.#sessions.has(connection);
  }

  /** The connection closed. */
  release(connection: T): void {
    this.#forgetPending(connection);
    this.#sessions.delete(connection);
  }

  #forgetPending(connection: T): void {
    const address = this.#addressOf.get(connection);
    if (address === undefined) return;
    this.#addressOf.delete(connection);
    const list = this.#pending.get(address) ?? [];
    const index = list.indexOf(connection);
    if (index >= 0) {
      list.splice(index, 1);
      this.#pendingCount--;
    }
    if (list.length === 0) this.#pending.delete(address);
  }
}

/**
 * Logs refused (or closed) connections without flooding the log: the first of an interval is logged as it
 * happens (`connection refused`), the others are counted and summed up at the end of the interval
 * (`connections refused`: how many, by reason, the addresses that were refused most).
 */
export class RefusalLog {
  readonly #logger: Logger;
  readonly #intervalMs: number;
  readonly #messages: { readonly one: string; readonly summary: string };
  #loggedThisInterval = false;
  #count = 0;
  #reasons = new Map<string, number>();
  #addresses = new Map<string, number>();
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    logger: Logger,
    intervalMs: number,
    messages: { readonly one: string; readonly summary: string } = {
      one: "connection refused",
      summary: "connections refused",
    },
  ) {
    this.#logger = logger;
    this.#intervalMs = intervalMs;
    this.#messages = messages;
  }

  refused(address: string, reason: string, fields: Record<string, unknown> = {}): void {
    this.#timer ??= setInterval(() => this.flush(), this.#intervalMs);
    if (!this.#loggedThisInterval) {
      this.#loggedThisInterval = true;
      this.#logger.warn(this.#messages.one, { remote: address, reason, ...fields });
      return;
    }
    this.#count++;
    this.#reasons.set(reason, (this.#reasons.get(reason) ?? 0) + 1);
    if (this.#addresses.size < 10_000 || this.#addresses.has(address)) {
      this.#addresses.set(address, (this.#addresses.get(address) ?? 0) + 1);
    }
  }

  /** Logs the summary of the interval (if anything was left out) and starts a new one. */
  flush(): void {
    if (this.#count > 0) {
      const top = [...this.#addresses].sort((a, b) => b[1] - a[1]).slice(0, 5);
      this.#logger.warn(this.#messages.summary, {
        count: this.#count,
        intervalSeconds: this.#intervalMs / 1000,
        reasons: Object.fromEntries(this.#reasons),
        addresses: Object.fromEntries(top),
      });
    } else if (!this.#loggedThisInterval) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
    this.#loggedThisInterval = false;
    this.#count = 0;
    this.#reasons = new Map();
    this.#addresses = new Map();
  }

  close(): void {
    this.flush();
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
