/**
 * API tokens: their values read from their sources (environment, file, Secret) and read again
 * every `refreshMs`, and a presented token checked against every one of them in constant time
 * (SHA-256 digests compared with `timingSafeEqual`, all of them, no early exit), so neither a
 * token's value nor which token almost matched leaks through timing. A token nobody knows makes
 * the verifier read the sources again (at most every `retryMs`), so a rotated Secret is accepted
 * without a restart.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { Logger } from "../log/logger.ts";
import { type CredentialSource, readCredential, type ReadCredentialDeps } from "./read_credential.ts";

export interface TokenEntry {
  readonly name: string;
  readonly value: CredentialSource;
  /** Its scopes: `read`, operations, and the scopes of options that lift a refusal. */
  readonly operations: readonly string[];
  /** The replications it covers: names or globs with `*` (default: all). */
  readonly replications?: readonly string[] | undefined;
}

/** Who presented a known token, and what it may do. */
export interface Principal {
  readonly name: string;
  readonly operations: ReadonlySet<string>;
  /** The replications it covers, as given (names or globs). */
  readonly replications: readonly string[];
  /** Whether it covers the replication `name`. */
  covers(name: string): boolean;
}

/** A matcher of replication names for a list of names and globs (`*`: any run of characters). */
export function replicationMatcher(patterns: readonly string[]): (name: string) => boolean {
  const expressions = patterns.map((pattern) =>
    new RegExp(`^${pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`)
  );
  return (name) => expressions.some((expression) => expression.test(name));
}

export interface TokenVerifierOptions extends ReadCredentialDeps {
  /** Read every token's source again this often (default 60 s). */
  readonly refreshMs?: number;
  /** After an unknown token, read the sources again at most this often (default 5 s). */
  readonly retryMs?: number;
  readonly logger?: Logger | undefined;
}

interface Loaded {
  readonly principal: Principal;
  readonly digest: Buffer | undefined;
}

const digestOf = (value: string): Buffer => createHash("sha256").update(value, "utf8").digest();

export class TokenVerifier {
  #tokens: readonly TokenEntry[];
  readonly #options: TokenVerifierOptions;
  #loaded: readonly Loaded[] = [];
  #loadedAt = -Infinity;
  #loading: Promise<void> | undefined;

  constructor(tokens: readonly TokenEntry[], options: TokenVerifierOptions = {}) {
    this.#tokens = tokens;
    this.#options = options;
  }

  /** Replaces the configured tokens (a reloaded config); they are read again at the next request. */
  update(tokens: readonly TokenEntry[]): void {
    if (JSON.stringify(tokens) === JSON.stringify(this.#tokens)) return;
    this.#tokens = tokens;
    this.#loadedAt = -Infinity;
  }

  /** How many tokens are configured (none: every protected route answers 401). */
  get size(): number {
    return this.#tokens.length;
  }

  /** Reads every token's value again; a token that cannot be read matches nothing until it can. */
  refresh(): Promise<void> {
    this.#loading ??= (async () => {
      try {
        this.#loaded = await Promise.all(this.#tokens.map(async (token): Promise<Loaded> => {
          const replications = token.replications ?? ["*"];
          const principal: Principal = {
            name: token.name,
            operations: new Set(token.operations),
            replications,
            covers: replicationMatcher(replications),
          };
          try {
            return { principal, digest: digestOf(await readCredential(token.value, this.#options)) };
          } catch (error) {
            this.#options.logger?.warn("cannot read an API token; it is refused until it can be read", {
              tokenName: token.name,
              error,
            });
            return { principal, digest: undefined };
          }
        }));
        this.#loadedAt = Date.now();
      } finally {
        this.#loading = undefined;
      }
    })();
    return this.#loading;
  }

  #match(presented: Buffer): Principal | undefined {
    let found: Principal | undefined;
    for (const token of this.#loaded) {
      // every digest is compared, whatever matched before
      const equal = token.digest !== undefined && timingSafeEqual(token.digest, presented);
      if (equal && found === undefined) found = token.principal;
    }
    return found;
  }

  /** The principal of a presented token, or `undefined` when it is not one of ours. */
  async verify(presented: string): Promise<Principal | undefined> {
    const age = Date.now() - this.#loadedAt;
    if (age > (this.#options.refreshMs ?? 60_000)) await this.refresh();
    if (presented === "") return undefined;
    const digest = digestOf(presented);
    const principal = this.#match(digest);
    if (principal || Date.now() - this.#loadedAt < (this.#options.retryMs ?? 5_000)) return principal;
    await this.refresh(); // perhaps rotated since we last read it
    return this.#match(digest);
  }
}
