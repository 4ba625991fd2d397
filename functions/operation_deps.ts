import type { KubeClient } from "../shared/kube/kube_client.ts";
import type { Logger } from "../shared/log/logger.ts";
import type { SyncProgress } from "../shared/sync/sync_namespace.ts";
import type { RetryOptions } from "../shared/sync/retry.ts";

/** What every operation is handed: both clusters and the edge's services. */
export interface OperationDeps {
  readonly source: KubeClient;
  readonly dr: KubeClient;
  readonly logger: Logger;
  readonly now?: () => Date;
  /** Identifies the run in the lock and the state (default: a random UUID). */
  readonly runId?: string;
  readonly onProgress?: (progress: SyncProgress) => void;
  readonly lock?: { readonly leaseSeconds?: number; readonly waitMs?: number };
  readonly retry?: RetryOptions;
  /** Writes in flight at once (default 16). */
  readonly concurrency?: number;
  /** Called after each step of cutover and failback; a throw here stands for a crash at that point. */
  readonly afterStep?: (step: string) => void | Promise<void>;
}

/** The operation cannot run as asked (a refusal, not a failure of the clusters). */
export class OperationRefusedError extends Error {
  override readonly name = "OperationRefusedError";
}
