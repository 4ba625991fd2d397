/**
 * The places for runs at once on this replica (`runtime.maxConcurrentRuns`): a run takes one before its
 * operation starts and gives it back when it ends; runs that find every place taken wait, first come first
 * served. The limit is read at every take and give back, so a reloaded config changes it for the runs that
 * wait. Without it, 200 replications scheduled in the same minute would run 200 stages at once, each with
 * its own writes in flight, against the same API servers.
 */
export class RunSlots {
  #busy = 0;
  readonly #waiting: { readonly admit: () => void }[] = [];

  constructor(readonly limit: () => number) {}

  /** Runs holding a place now. */
  get busy(): number {
    return this.#busy;
  }

  /** Runs waiting for a place now. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * Resolves with what gives the place back once one is free (`onWait` is called first when the run has to
   * wait); rejects with `signal`'s reason when that aborts first.
   */
  async take(signal: AbortSignal, onWait?: (ahead: number) => void): Promise<() => void> {
    signal.throwIfAborted();
    if (this.#waiting.length === 0 && this.#busy < this.limit()) {
      this.#busy++;
      return this.#giveBack();
    }
    onWait?.(this.#waiting.length);
    await new Promise<void>((resolve, reject) => {
      const waiter = {
        admit: () => {
          signal.removeEventListener("abort", abort);
          resolve();
        },
      };
      const abort = () => {
        const at = this.#waiting.indexOf(waiter);
        if (at >= 0) this.#waiting.splice(at, 1);
        reject(signal.reason);
      };
      signal.addEventListener("abort", abort, { once: true });
      this.#waiting.push(waiter);
    });
    return this.#giveBack();
  }

  #giveBack(): () => void {
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.#busy--;
      this.#admit();
    };
  }

  #admit(): void {
    while (this.#waiting.length > 0 && this.#busy < this.limit()) {
      this.#busy++;
      this.#waiting.shift()!.admit();
    }
  }
}
