/**
 * Who watches a continuous replication: the holder of the Lease `dr-syncer-watch` in its DR
 * namespace (apart from the replication's lock, which every run takes for its writes). The owner
 * renews it every third of its duration; another replica takes it over once it has seen it
 * unrenewed for a whole duration on its own monotonic clock (never by comparing clocks), so a
 * replica that dies hands the watch over within about one duration.
 */
import { isAlreadyExists, isConflict, isNotFound } from "../../shared/kube/kube_api_error.ts";
import type { KubeClient } from "../../shared/kube/kube_client.ts";
import { type KubeObject, LEASES } from "../../shared/kube/types.ts";
import { createObject, getObject, replaceObject } from "../../shared/kube/verbs.ts";
import { LABEL_MANAGED_BY, MANAGED_BY_VALUE } from "../../shared/plan/names.ts";

export const WATCH_LEASE_NAME = "dr-syncer-watch";

interface Lease extends KubeObject {
  spec?: { holderIdentity?: string | null; leaseDurationSeconds?: number; renewTime?: string | null };
}

const microTime = (date: Date) => date.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");

export type WatchLeaseAttempt = "owned" | "held" | "namespace-missing";

export class WatchLease {
  #lease: Lease | undefined;
  #seen: { key: string; at: number } | undefined;

  constructor(
    private readonly dr: KubeClient,
    private readonly namespace: string,
    readonly holder: string,
    readonly durationSeconds = 15,
  ) {}

  #spec(): Lease["spec"] {
    return {
      holderIdentity: this.holder,
      leaseDurationSeconds: this.durationSeconds,
      renewTime: microTime(new Date()),
    };
  }

  /** Takes the Lease when it is free, ours, or unrenewed for a whole duration; one attempt. */
  async tryAcquire(): Promise<WatchLeaseAttempt> {
    const current = await getObject<Lease>(this.dr, LEASES, this.namespace, WATCH_LEASE_NAME);
    try {
      if (!current) {
        this.#lease = await createObject<Lease>(this.dr, LEASES, {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: {
            name: WATCH_LEASE_NAME,
            namespace: this.namespace,
            labels: { [LABEL_MANAGED_BY]: MANAGED_BY_VALUE },
          },
          spec: this.#spec(),
        });
        return "owned";
      }
      const holder = current.spec?.holderIdentity;
      if (holder && holder !== this.holder) {
        const key = `${holder}/${current.metadata.resourceVersion}`;
        if (this.#seen?.key !== key) this.#seen = { key, at: performance.now() };
        const duration = (current.spec?.leaseDurationSeconds ?? this.durationSeconds) * 1000;
        if (performance.now() - this.#seen.at < duration) return "held";
      }
      this.#lease = await replaceObject<Lease>(this.dr, LEASES, { ...current, spec: this.#spec() });
      return "owned";
    } catch (error) {
      if (isNotFound(error)) return "namespace-missing";
      if (isConflict(error) || isAlreadyExists(error)) return "held"; // another replica moved first
      throw error;
    }
  }

  /** Renews an owned Lease; false when another replica took it. */
  async renew(): Promise<boolean> {
    if (!this.#lease) return false;
    try {
      this.#lease = await replaceObject<Lease>(this.dr, LEASES, { ...this.#lease, spec: this.#spec() });
      return true;
    } catch (error) {
      if (isConflict(error) || isNotFound(error)) {
        this.#lease = undefined;
        return false;
      }
      throw error;
    }
  }

  /** Gives the Lease up (a drain, a cutover), so another replica need not wait for it to expire. */
  async release(): Promise<void> {
    const lease = this.#lease;
    this.#lease = undefined;
    if (!lease) return;
    await replaceObject<Lease>(this.dr, LEASES, {
      ...lease,
      spec: { ...lease.spec, holderIdentity: null, renewTime: null },
    }).catch(() => {}); // it expires on its own
  }
}
