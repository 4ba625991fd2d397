import { DEFAULT_PVC_DATA, type ReplicationSpec, replicationSpec } from "../plan/replication_spec.ts";
import type { AgentSettings, Replication } from "./config_schema.ts";

/** The engine's view of a configured replication (the schedule, mode and PVC data settings stay with the runtime). */
export function replicationSpecFromConfig(r: Replication, agent?: AgentSettings): ReplicationSpec {
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
    pvcData: {
      verify: pvc.verify,
      ...(pvc.bandwidthLimit === undefined ? {} : { bandwidthLimitKiB: pvc.bandwidthLimit }),
      agentNamespace: agent?.namespace ?? DEFAULT_PVC_DATA.agentNamespace,
      mounterImage: agent?.mounterImage ?? DEFAULT_PVC_DATA.mounterImage,
    },
    ...(resourceTypes ? { resourceTypes } : {}),
  });
}
