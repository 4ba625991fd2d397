import { NotFoundError } from "../errors.ts";
import type { Replication } from "./config_schema.ts";
import { closest, quote, quoteAll } from "./_text.ts";

/** No replication of that name is configured (the HTTP edge answers 404). */
export class ReplicationNotFoundError extends NotFoundError {
  override readonly name = "ReplicationNotFoundError";
  /** The name asked for. */
  readonly replication: string;
  /** The names that are configured. */
  readonly configured: readonly string[];

  constructor(replication: string, configured: readonly string[]) {
    const suggestion = closest(replication, configured);
    const hint = suggestion === undefined ? "" : `, did you mean ${quote(suggestion)}?`;
    super(
      configured.length === 0
        ? `Unknown replication ${quote(replication)}: no replications are configured`
        : `Unknown replication ${quote(replication)}${hint} (configured: ${quoteAll(configured)})`,
    );
    this.replication = replication;
    this.configured = configured;
  }
}

/**
 * The configured replication called `name`.
 *
 * @throws {ReplicationNotFoundError} listing the configured names when there is none
 */
export function findReplication(
  config: { readonly replications: readonly Replication[] },
  name: string,
): Replication {
  const replication = config.replications.find((candidate) => candidate.name === name);
  if (replication === undefined) {
    throw new ReplicationNotFoundError(name, config.replications.map((candidate) => candidate.name));
  }
  return replication;
}
