import type { ReplicationSpec } from "../../shared/plan/replication_spec.ts";
import type { RunReport } from "../../shared/run_report.ts";
import { cutover } from "../cutover.ts";
import { failback } from "../failback.ts";
import type { OperationDeps } from "../operation_deps.ts";
import { pvcSync } from "../pvc_sync.ts";
import { stage } from "../stage.ts";

/** The operations the edges trigger by name (the HTTP routes, the schedules, the token scopes). */
export type OperationName = "stage" | "cutover" | "failback" | "pvc-sync";

export const OPERATION_NAMES: readonly OperationName[] = ["stage", "cutover", "failback", "pvc-sync"];

/** What an edge asks of an operation (each operation reads the fields that apply to it). */
export interface OperationRequest {
  readonly dryRun?: boolean | undefined;
  /** stage: overrides the replication's prune setting. */
  readonly prune?: boolean | undefined;
  readonly force?: boolean | undefined;
  /** cutover: the source cluster is down. */
  readonly allowSourceUnavailable?: boolean | undefined;
  /** cutover: scale DR up even over objects the final stage could not copy. */
  readonly acceptStale?: boolean | undefined;
  /** failback: restore the source to the counts DR runs at now. */
  readonly useDrCounts?: boolean | undefined;
  /** failback: DR does not answer; restore the source from its own records. */
  readonly allowDrUnavailable?: boolean | undefined;
}

export type OperationFunction = (
  deps: OperationDeps,
  spec: ReplicationSpec,
  request: OperationRequest,
) => Promise<RunReport>;

const flag = (value: boolean | undefined) => value ?? false;

/** The operations the runtime runs, by name: one explicit list. */
export const OPERATIONS: Readonly<Record<OperationName, OperationFunction>> = {
  stage: (deps, spec, r) =>
    stage(deps, {
      replication: spec,
      dryRun: flag(r.dryRun),
      force: flag(r.force),
      ...(r.prune !== undefined ? { prune: r.prune } : {}),
    }),
  cutover: (deps, spec, r) =>
    cutover(deps, {
      replication: spec,
      dryRun: flag(r.dryRun),
      force: flag(r.force),
      allowSourceUnavailable: flag(r.allowSourceUnavailable),
      acceptStale: flag(r.acceptStale),
    }),
  failback: (deps, spec, r) =>
    failback(deps, { replication: spec, dryRun: flag(r.dryRun), force: flag(r.force) }),
  "pvc-sync": (deps, spec, r) =>
    pvcSync(deps, { replication: spec, dryRun: flag(r.dryRun), force: flag(r.force) }),
};
