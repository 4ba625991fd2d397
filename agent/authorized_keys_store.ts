/**
 * Reads the authorized keys when a client authenticates, so a key added for a new transfer works without a
 * restart. The path is a file, or a folder whose `*.json` files are each one authorized-keys file: a
 * Kubernetes Secret mounted as a volume gives one file per Secret key, so each transfer can add its own key
 * without rewriting the others'. Files are parsed again only when their text changed.
 *
 * Fails closed: a file that cannot be read or parsed authorizes nothing (and is logged once per change).
 */
import type { Logger } from "../shared/log/mod.ts";
import { AuthorizedKeysError } from "./agent_errors.ts";
import { type AuthorizedKey, parseAuthorizedKeys } from "./authorized_keys.ts";

export interface AuthorizedKeysStore {
  /** Every usable entry, as the files read now say. */
  load(): Promise<readonly AuthorizedKey[]>;
}

interface CachedFile {
  readonly text: string;
  readonly keys: readonly AuthorizedKey[];
}

/** Most files read from an authorized-keys folder. */
const MAX_FILES = 1000;
/** Largest authorized-keys file read. */
const MAX_FILE_BYTES = 4 * 1024 * 1024;

async function filesAt(path: string): Promise<string[]> {
  const info = await Deno.stat(path);
  if (!info.isDirectory) return [path];
  const names: string[] = [];
  for await (const entry of Deno.readDir(path)) {
    if (!entry.name.startsWith(".") && entry.name.endsWith(".json")) names.push(entry.name);
  }
  return names.sort().slice(0, MAX_FILES).map((name) => `${path}/${name}`);
}

async function readText(file: string): Promise<string> {
  const info = await Deno.stat(file);
  if (!info.isFile) {
    throw new AuthorizedKeysError(`Cannot read authorized keys ${JSON.stringify(file)}: not a file`);
  }
  if (info.size > MAX_FILE_BYTES) {
    throw new AuthorizedKeysError(
      `Cannot read authorized keys ${JSON.stringify(file)}: larger than ${MAX_FILE_BYTES} bytes`,
    );
  }
  return await Deno.readTextFile(file);
}

/** A store reading `path` (a file or a folder of `*.json` files) on every `load()`. */
export function createAuthorizedKeysStore(path: string, logger: Logger): AuthorizedKeysStore {
  const cache = new Map<string, CachedFile>();
  let lastListingError = "";

  async function loadFile(file: string): Promise<readonly AuthorizedKey[]> {
    let text: string;
    try {
      text = await readText(file);
    } catch (error) {
      const message = error instanceof AuthorizedKeysError
        ? error.message
        : `Cannot read authorized keys ${JSON.stringify(file)}: ${
          error instanceof Error ? error.message : error
        }`;
      if (cache.get(file)?.text !== message) {
        logger.error("authorized keys unreadable", { file, error: message });
      }
      cache.set(file, { text: message, keys: [] });
      return [];
    }
    const cached = cache.get(file);
    if (cached?.text === text) return cached.keys;
    let keys: readonly AuthorizedKey[] = [];
    try {
      const parsed = parseAuthorizedKeys(text, file);
      keys = parsed.keys;
      logger.info("authorized keys loaded", { file, keys: keys.length, problems: parsed.problems.length });
      for (const problem of parsed.problems) logger.warn("authorized key left out", { file, problem });
    } catch (error) {
      if (!(error instanceof AuthorizedKeysError)) throw error;
      logger.error("authorized keys invalid", { file, error: error.message });
    }
    cache.set(file, { text, keys });
    return keys;
  }

  return {
    async load() {
      let files: string[];
      try {
        files = await filesAt(path);
        lastListingError = "";
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        if (message !== lastListingError) {
          logger.error("authorized keys unreadable", { file: path, error: message });
          lastListingError = message;
        }
        return [];
      }
      for (const file of cache.keys()) if (!files.includes(file)) cache.delete(file);
      const all: AuthorizedKey[] = [];
      for (const file of files) all.push(...await loadFile(file));
      return all;
    },
  };
}
