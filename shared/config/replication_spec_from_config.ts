import { type ReplicationSpec, replicationSpec } from "../plan/replication_spec.ts";
import type { Replication } from "./config_schema.ts";

/** The engine's view of a configured replication (the schedule, mode and PVC data settings stay with the runtime). */
export function replicationSpecFromConfig(r: Replication): ReplicationSpec {
  const {
    name,
    source,
    destination,
    resourceTypes,
    mode: _mode,
    schedule: _schedule,
    pvc,
    ...options
  } = r;
  return replicationSpec({
    ...options,
    name,
    sourceCluster: source.cluster,
    sourceNamespace: source.namespace,
    destCluster: destination.cluster,
    destNamespace: destination.namespace,
    pvcDataSync: pvc.enabled,
    ...(resourceTypes ? { resourceTypes } : {}),
  });
}
