import type { ReplicationSpec } from "../../shared/plan/replication_spec.ts";
import type { RunReport } from "../../shared/run_report.ts";
import type { OperationDeps } from "../operation_deps.ts";
import type { CliOptions } from "./parse_cli_args.ts";

/**
 * Runs one operation with the options of the command line. Each operation's module is loaded when
 * it runs: a stage does not load the PVC data path (ssh2) or the scaling steps, which keeps the
 * process's memory to what the operation needs.
 */
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
    case "stage": {
      const { stage } = await import("../stage.ts");
      return await stage(deps, {
        replication: spec,
        dryRun: o.dryRun,
        force: o.force,
        ...(o.prune !== undefined ? { prune: o.prune } : {}),
      });
    }
    case "cutover": {
      const { cutover } = await import("../cutover.ts");
      return await cutover(deps, {
        replication: spec,
        dryRun: o.dryRun,
        allowSourceUnavailable: o.allowSourceUnavailable,
        acceptStale: o.acceptStale,
        force: o.force,
        migratePvcData: o.migratePvcData,
      });
    }
    case "failback": {
      const { failback } = await import("../failback.ts");
      return await failback(deps, {
        replication: spec,
        dryRun: o.dryRun,
        force: o.force,
        useDrCounts: o.useDrCounts,
        allowDrUnavailable: o.allowDrUnavailable,
        reverseMigratePvcData: o.reverseMigratePvcData,
      });
    }
    case "pvc-sync": {
      const { pvcSync } = await import("../pvc_sync.ts");
      return await pvcSync(deps, {
        replication: spec,
        dryRun: o.dryRun,
        force: o.force,
        direction: o.toSource ? "to-source" : "to-dr",
      });
    }
    case "fence": {
      const { fence } = await import("../fence.ts");
      return await fence(deps, { replication: spec, force: o.force, dryRun: o.dryRun });
    }
  }
}
