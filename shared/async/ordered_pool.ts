/**
 * Runs `fn` on every item with at most `limit` calls in flight, where an item may have to wait for
 * others: an item of order `o` starts only once every item of each lower order `p` with
 * `waitsFor(o, p)` has finished (`() => true`: strict groups, one after the other). The orders whose
 * items may start take turns for the free slots, and while several may, none holds more than half of
 * them (so a kind the server writes slowly, one at a time, runs beside the others instead of before
 * or after them); within an order, items start in input order. Once
 * a call throws, no further item is started: the calls in flight finish, then the first error is
 * thrown (as `pooledMap`).
 */
export async function orderedPool<T>(
  items: readonly T[],
  options: {
    readonly limit: number;
    readonly orderOf: (item: T) => number;
    /** Whether items of `order` wait for those of the lower order `other`. */
    readonly waitsFor: (order: number, other: number) => boolean;
  },
  fn: (item: T) => Promise<void>,
): Promise<void> {
  const { limit, orderOf, waitsFor } = options;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new RangeError(`Pool size must be a whole number >= 1, not ${limit}`);
  }
  /** Per order: the items, how many were started, how many are not finished. */
  const groups = new Map<number, { items: T[]; started: number; unfinished: number }>();
  for (const item of items) {
    const order = orderOf(item);
    let group = groups.get(order);
    if (!group) groups.set(order, group = { items: [], started: 0, unfinished: 0 });
    group.items.push(item);
    group.unfinished++;
  }
  const orders = [...groups.keys()].sort((a, b) => a - b);
  const ready = (order: number) =>
    orders.every((other) => other >= order || groups.get(other)!.unfinished === 0 || !waitsFor(order, other));
  /** While another order could start an item, one order holds at most half the slots (a slow kind, all). */
  const share = Math.max(1, Math.ceil(limit / 2));
  const inFlight = (order: number) => {
    const group = groups.get(order)!;
    return group.started - (group.items.length - group.unfinished);
  };
  let turn = 0;
  const take = (): T | undefined => {
    const open = orders.map((_, i) => (turn + i) % orders.length).filter((i) => {
      const group = groups.get(orders[i]!)!;
      return group.started < group.items.length && ready(orders[i]!);
    });
    const i = open.find((i) => open.length === 1 || inFlight(orders[i]!) < share) ?? open[0];
    if (i === undefined) return undefined;
    turn = i + 1;
    const group = groups.get(orders[i]!)!;
    return group.items[group.started++];
  };
  let remaining = items.length;
  let running = 0;
  let failure: { error: unknown } | undefined;
  if (remaining === 0) return;
  await new Promise<void>((resolve) => {
    const pump = () => {
      while (failure === undefined && running < limit) {
        const item = take();
        if (item === undefined) break;
        running++;
        fn(item).then(
          () => groups.get(orderOf(item))!.unfinished--,
          (error) => failure ??= { error },
        ).finally(() => {
          running--;
          remaining--;
          if (running === 0 && (failure !== undefined || remaining === 0)) resolve();
          else pump();
        });
      }
    };
    pump();
  });
  if (failure !== undefined) throw failure.error;
}
