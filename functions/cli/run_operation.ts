import type { ReplicationSpec } from "../../shared/plan/replication_spec.ts";
import type { RunReport } from "../../shared/run_report.ts";
import { cutover } from "../cutover.ts";
import { failback } from "../failback.ts";
import { fence } from "../fence.ts";
import type { OperationDeps } from "../operation_deps.ts";
import { pvcSync } from "../pvc_sync.ts";
import { stage } from "../stage.ts";
import type { CliOptions } from "./parse_cli_args.ts";

/** Runs one operation with the options of the command line. */
export async function runOperation(
  command: "stage" | "cutover" | "failback" | "fence" | "pvc-sync",
  deps: OperationDeps,
  spec: ReplicationSpec,
  o: Pick<
    CliOptions,
    | "dryRun"
    | "force"
    | "prune"
    | "allowSourceUnavailable"
    | "acceptStale"
    | "useDrCounts"
    | "allowDrUnavailable"
    | "migratePvcData"
    | "reverseMigratePvcData"
    | "toSource"
  >,
): Promise<RunReport> {
  switch (command) {
    case "stage":
      return await stage(deps, {
        replication: spec,
        dryRun: o.dryRun,
        force: o.force,
        ...(o.prune !== undefined ? { prune: o.prune } : {}),
      });
    case "cutover":
      return await cutover(deps, {
        replication: spec,
        dryRun: o.dryRun,
        allowSourceUnavailable: o.allowSourceUnavailable,
        acceptStale: o.acceptStale,
        force: o.force,
        migratePvcData: o.migratePvcData,
      });
    case "failback":
      return await failback(deps, {
        replication: spec,
        dryRun: o.dryRun,
        force: o.force,
        useDrCounts: o.useDrCounts,
        allowDrUnavailable: o.allowDrUnavailable,
        reverseMigratePvcData: o.reverseMigratePvcData,
      });
    case "pvc-sync":
      return await pvcSync(deps, {
        replication: spec,
        dryRun: o.dryRun,
        force: o.force,
        direction: o.toSource ? "to-source" : "to-dr",
      });
    case "fence":
      return await fence(deps, { replication: spec, force: o.force, dryRun: o.dryRun });
  }
}
