/**
 * The runtime's configuration while it runs: the config file's (reloaded when the file changes) and the
 * clusters and replications of the original operator's objects (watched in the runtime's own cluster),
 * merged and checked as one config. A new version that does not check out is refused and the last good
 * one kept, with why; listeners (the clients, the tokens, the watchers, the status) follow every change.
 */
import {
  type Cluster,
  type Config,
  type ConfigOptions,
  describeIssues,
  type Replication,
  validateConfig,
} from "../../shared/config/mod.ts";

/** What the operator's objects contribute. */
export interface ResourceConfig {
  readonly clusters: readonly Cluster[];
  readonly replications: readonly Replication[];
}

export type ConfigListener = (next: Config, previous: Config) => void;

/** Where the last change came from, and whether it was taken. */
export interface ConfigStatus {
  /** Increases with every change taken. */
  readonly generation: number;
  readonly changedAt: string;
  /** What the last refused version was refused for (`undefined`: the last version was taken). */
  readonly error?: { readonly origin: string; readonly message: string; readonly at: string } | undefined;
}

export class ConfigState {
  #file: Config;
  #resources: ResourceConfig = { clusters: [], replications: [] };
  #current: Config;
  #generation = 1;
  #changedAt = new Date().toISOString();
  #error: ConfigStatus["error"];
  readonly #listeners = new Set<ConfigListener>();
  readonly #options: ConfigOptions;

  constructor(file: Config, options: ConfigOptions = {}) {
    this.#file = file;
    this.#current = file;
    this.#options = options;
  }

  /** The configuration in force. */
  get current(): Config {
    return this.#current;
  }

  /** The config file's part. */
  get file(): Config {
    return this.#file;
  }

  get status(): ConfigStatus {
    return {
      generation: this.#generation,
      changedAt: this.#changedAt,
      ...(this.#error ? { error: this.#error } : {}),
    };
  }

  /** Calls `listener` after every change taken; returns what removes it. */
  onChange(listener: ConfigListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Records a version of `origin` that could not be read or checked: the last good one stays. */
  refuse(origin: string, message: string): void {
    this.#error = { origin, message, at: new Date().toISOString() };
  }

  /** Takes a new config file (already checked on its own); refused when it no longer fits the objects' part. */
  setFile(file: Config, origin = "config file"): boolean {
    return this.#apply(file, this.#resources, origin);
  }

  /** Takes the operator objects' clusters and replications (checked object by object against the file). */
  setResources(resources: ResourceConfig, origin = "dr-syncer.io objects"): boolean {
    return this.#apply(this.#file, resources, origin);
  }

  #apply(file: Config, resources: ResourceConfig, origin: string): boolean {
    const merged = resources.clusters.length === 0 && resources.replications.length === 0
      ? { data: file }
      : validateConfig(
        {
          ...file,
          clusters: [...file.clusters, ...resources.clusters],
          replications: [...file.replications, ...resources.replications],
        },
        this.#options,
      );
    if (merged.issues !== undefined) {
      this.refuse(origin, describeIssues(merged.issues));
      return false;
    }
    const previous = this.#current;
    this.#file = file;
    this.#resources = resources;
    this.#error = undefined;
    if (JSON.stringify(merged.data) === JSON.stringify(previous)) return true;
    this.#current = merged.data;
    this.#generation++;
    this.#changedAt = new Date().toISOString();
    for (const listener of this.#listeners) listener(merged.data, previous);
    return true;
  }
}
