/**
 * The original DR-Syncer's objects, live: `serve` watches RemoteCluster, ClusterMapping and
 * NamespaceMapping objects (`dr-syncer.io/v1alpha1`) in the cluster it runs in, and they become the
 * runtime's clusters and replications beside the config file's, within moments of a change and without a
 * restart: a new mapping starts syncing, an edited schedule or type list applies at the next run,
 * `spec.paused: true` stops its schedule, a deleted mapping stops (its DR copies are kept: its last Event
 * says so). Each object's status subresource says what became of it (in use, or why not; its phase, last
 * run, next run, RPO and conditions), Events record each run and refusal on the mapping, and the
 * annotations `dr-syncer.io/sync-now`, `dr-syncer.io/cutover` and `dr-syncer.io/failback` start a stage,
 * a cutover or a failback through the same runs, locks and refusals as every other trigger (the
 * annotation is removed once its run has started; who may set it is the cluster's RBAC on the object).
 */
import {
  ANNOTATION_CUTOVER,
  ANNOTATION_FAILBACK,
  ANNOTATION_SYNC_NOW,
  ANNOTATION_TRIGGER_SYNC,
  configFromOperatorObjects,
  OPERATOR_GROUP,
  OPERATOR_KINDS,
  OPERATOR_VERSION,
  type OperatorKind,
  type OperatorObject,
  operatorObjectKey,
} from "../../shared/config/mod.ts";
import { errorMessage } from "../../shared/errors.ts";
import { isNotFound } from "../../shared/kube/kube_api_error.ts";
import type { KubeClient } from "../../shared/kube/kube_client.ts";
import { EVENTS, type KubeObject, type ResourceType } from "../../shared/kube/types.ts";
import { createObject, jsonPatchObject, patchStatus } from "../../shared/kube/verbs.ts";
import { derivedRunId } from "../../shared/runs/mod.ts";
import { CONFIG_OPTIONS } from "../operations/mod.ts";
import type { Runnable, RunOutcome, Runtime } from "../runtime/mod.ts";
import { ObjectStore } from "./_object_store.ts";
import { type LastRun, lastRunOf, mappingStatus, objectStatus } from "./mapping_status.ts";

export interface OperatorResourcesOptions {
  /** The cluster the runtime runs in, where the objects live. */
  readonly client: KubeClient;
  /** That cluster's name in the configuration (the source of a mapping that names none). */
  readonly localCluster?: string;
  /** The runtime's namespace: where a RemoteCluster's `kubeconfigSecret: NAME` Secret is. */
  readonly runtimeNamespace: string;
  /** Watch one namespace only (default: every namespace, as the original did). */
  readonly namespace?: string | undefined;
  /** How long changes are gathered before they apply (default 200 ms). */
  readonly debounceMs?: number;
  /** How often every mapping's status is brought up to date besides after runs (default 30 s). */
  readonly resyncMs?: number;
}

type Stored = OperatorObject & KubeObject & { readonly status?: Record<string, unknown> };

const TRIGGERS: readonly { readonly annotation: string; readonly operation: string }[] = [
  { annotation: ANNOTATION_SYNC_NOW, operation: "stage" },
  { annotation: ANNOTATION_TRIGGER_SYNC, operation: "stage" },
  { annotation: ANNOTATION_CUTOVER, operation: "cutover" },
  { annotation: ANNOTATION_FAILBACK, operation: "failback" },
];

function typeOf(kind: OperatorKind): ResourceType {
  return {
    group: OPERATOR_GROUP,
    version: OPERATOR_VERSION,
    resource: kind.plural,
    kind: kind.kind,
    namespaced: true,
  };
}

/** The status without its check time: what decides whether it must be written again. */
function essence(status: Record<string, unknown>): string {
  const { lastChecked: _lastChecked, ...rest } = status;
  const conditions = (rest.conditions as { lastTransitionTime?: string }[] | undefined)?.map((
    { lastTransitionTime: _t, ...c },
  ) => c);
  // the RPO's age is written again as its level changes or it grows by a minute, not every second
  const rpo = rest.rpo as { level?: string; seconds?: number } | null | undefined;
  const age = rpo?.seconds === undefined
    ? undefined
    : Math.floor(rpo.seconds / (rpo.seconds < 3600 ? 60 : 600));
  return JSON.stringify({ ...rest, conditions, rpo: rpo ? { level: rpo.level, age } : rpo });
}

export interface OperatorResources extends Runnable {
  /** Whether the objects' API is served and watched. */
  readonly active: boolean;
  /** Applies the objects now (tests; a change applies by itself after `debounceMs`). */
  sync(): Promise<void>;
}

export function operatorResources(runtime: Runtime, options: OperatorResourcesOptions): OperatorResources {
  const stop = new AbortController();
  const log = runtime.logger.child({ component: "dr-syncer.io objects" });
  const local = options.localCluster ?? "local";
  const stores = new Map(OPERATOR_KINDS.map((kind) => [
    kind.kind,
    new ObjectStore<Stored>({
      client: options.client,
      type: typeOf(kind),
      namespace: options.namespace,
      onChange: () => schedule(),
      logger: log,
    }),
  ]));
  const written = new Map<string, string>(); // object key -> the essence of its last status written
  const applied = new Map<string, string>(); // object key -> what of it was last applied
  const mappingOf = new Map<string, Stored>(); // replication name -> its NamespaceMapping
  const lastRuns = new Map<string, LastRun>(); // replication name -> its last run, with counts
  const triggered = new Set<string>(); // run ids started from annotations
  let active = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let resync: ReturnType<typeof setInterval> | undefined;
  let applying: Promise<void> = Promise.resolve();
  const loops: Promise<void>[] = [];
  let unsubscribe = () => {};

  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(() => void apply(), options.debounceMs ?? 200);
  };

  const apply = () =>
    applying = applying.then(async () => {
      if (stop.signal.aborted || ![...stores.values()].every((s) => s.listed)) return;
      const objects = [...stores.values()].flatMap((s) => s.objects);
      const out = configFromOperatorObjects(objects, runtime.configState.file, {
        ...CONFIG_OPTIONS,
        local: { cluster: local, namespace: options.runtimeNamespace },
      });
      const before = new Map(mappingOf);
      const taken = runtime.configState.setResources(out);
      runtime.metrics.configReload(
        "resources",
        taken ? "applied" : "invalid",
        runtime.configState.status.generation,
      );
      if (!taken) {
        log.error("the dr-syncer.io objects were refused: the last good configuration keeps running", {
          error: runtime.configState.status.error?.message,
        });
      }
      mappingOf.clear();
      for (const result of out.results) {
        if (result.replication && taken) mappingOf.set(result.replication.name, result.object as Stored);
      }
      for (const [name, object] of before) {
        if (!mappingOf.has(name) && !objects.some((o) => o.metadata.uid === object.metadata.uid)) {
          await event(
            object,
            "Normal",
            "Deleted",
            `NamespaceMapping deleted: replication "${name}" stopped; its copies on DR are kept`,
          );
        }
      }
      const now = new Date();
      const keys = new Set(out.results.map((r) => operatorObjectKey(r.object)));
      for (const key of applied.keys()) if (!keys.has(key)) applied.delete(key);
      await Promise.all(out.results.map(async (result) => {
        const object = result.object as Stored;
        // only what changed (spec, annotations, its replication, its problem) is looked at again: a status
        // write changes no generation, and the resync brings the rest up to date
        const key = operatorObjectKey(object);
        const mark = JSON.stringify([
          object.metadata.generation,
          object.metadata.annotations ?? {},
          result.replication ?? null,
          result.problem ?? null,
          taken,
        ]);
        if (applied.get(key) === mark) return;
        applied.set(key, mark);
        if (object.kind === "NamespaceMapping" || object.kind === "Replication") {
          const problem = result.problem ?? (taken ? undefined : runtime.configState.status.error?.message);
          if (problem !== undefined) {
            const fresh = written.get(operatorObjectKey(object)) === undefined ||
              (object.status as { phase?: string } | undefined)?.phase !== "Invalid";
            await writeStatus(object, mappingStatus({ object, problem, now }));
            if (fresh) await event(object, "Warning", "Invalid", problem);
            return;
          }
          await refresh(result.replication!.name);
          await startTriggers(object, result.replication!.name);
        } else await writeStatus(object, objectStatus(object, result.problem, now));
      }));
    }).catch((error) => log.error("applying the dr-syncer.io objects failed", { error }));

  /** Brings a mapping's status up to date from the runtime's status of its replication. */
  const refresh = async (name: string) => {
    const object = mappingOf.get(name);
    if (!object) return;
    try {
      const replication = runtime.config.replications.find((r) => r.name === name);
      const status = replication ? await runtime.status.of(replication) : undefined;
      let last = lastRuns.get(name);
      const summary = status?.lastRuns.find((r) => r.status !== "running");
      if (summary && summary.runId !== last?.id) {
        last = lastRunOf(summary);
        if (last) lastRuns.set(name, last);
      }
      await writeStatus(
        object,
        mappingStatus({
          object,
          replication,
          status,
          lastRun: last,
          running: runtime.runs.activeFor(name).length > 0,
          now: new Date(),
        }),
      );
    } catch (error) {
      log.warn("could not bring a mapping's status up to date", { replication: name, error });
    }
  };

  const writeStatus = async (object: Stored, status: Record<string, unknown>) => {
    const key = operatorObjectKey(object);
    const essential = essence(status);
    if (written.get(key) === essential) return;
    const kind = OPERATOR_KINDS.find((k) => k.kind === object.kind);
    if (!kind) return;
    try {
      await patchStatus(
        options.client,
        typeOf(kind),
        object.metadata.namespace,
        object.metadata.name,
        status,
      );
      written.set(key, essential);
    } catch (error) {
      if (!isNotFound(error)) log.warn("could not write an object's status", { object: key, error });
    }
  };

  const event = async (object: Stored, type: "Normal" | "Warning", reason: string, message: string) => {
    const now = new Date().toISOString();
    try {
      await createObject(options.client, EVENTS, {
        apiVersion: "v1",
        kind: "Event",
        metadata: {
          name: `${object.metadata.name}.${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`,
          namespace: object.metadata.namespace ?? options.runtimeNamespace,
        },
        involvedObject: {
          apiVersion: `${OPERATOR_GROUP}/${OPERATOR_VERSION}`,
          kind: object.kind,
          name: object.metadata.name,
          namespace: object.metadata.namespace,
          ...(object.metadata.uid ? { uid: object.metadata.uid } : {}),
        },
        type,
        reason,
        message: message.slice(0, 1000),
        source: { component: "dr-syncer" },
        reportingComponent: "dr-syncer.io/runtime",
        reportingInstance: runtime.replica,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      });
    } catch (error) {
      log.warn("could not record an Event", { object: operatorObjectKey(object), reason, error });
    }
  };

  /** Starts the runs an annotation asks for, then removes the annotation. */
  const startTriggers = async (object: Stored, replication: string) => {
    const annotations = object.metadata.annotations ?? {};
    for (const { annotation, operation } of TRIGGERS) {
      const value = annotations[annotation];
      if (value === undefined) continue;
      // one run per object, annotation value and operation, across replicas
      const runId = derivedRunId("annotation", object.metadata.uid ?? "", annotation, value, operation);
      if (triggered.has(runId)) continue;
      triggered.add(runId);
      try {
        const started = await runtime.runs.start({ replication, operation, trigger: "resource", runId });
        log.info("run started by an annotation", {
          replication,
          operation,
          annotation,
          runId: started.runId,
        });
      } catch (error) {
        await event(
          object,
          "Warning",
          "Refused",
          `${operation} asked by ${annotation} was refused: ${errorMessage(error)}`,
        );
      }
      try {
        const pointer = `/metadata/annotations/${annotation.replaceAll("~", "~0").replaceAll("/", "~1")}`;
        const kind = OPERATOR_KINDS.find((k) => k.kind === object.kind)!;
        await jsonPatchObject(options.client, typeOf(kind), object.metadata.namespace, object.metadata.name, [
          { op: "test", path: pointer, value },
          { op: "remove", path: pointer },
        ]);
      } catch (error) {
        log.debug("the trigger annotation was not removed (changed or removed meanwhile)", { error });
      }
    }
  };

  /** After a run of a mapping's replication: its Event and its status. */
  const settled = (outcome: RunOutcome) => {
    const object = mappingOf.get(outcome.record.replication);
    if (!object) return;
    const record = outcome.record;
    const last = lastRunOf(record);
    if (last) lastRuns.set(record.replication, last);
    const report = record.report;
    const counts = report
      ? Object.entries(report.counts).filter(([, n]) => n > 0).map(([a, n]) => `${n} ${a}`).join(", ")
      : "";
    const reason = record.status === "succeeded"
      ? { stage: "Synced", cutover: "CutOver", failback: "FailedBack" }[record.operation] ?? "Succeeded"
      : record.error?.code === "refused"
      ? "Refused"
      : "Failed";
    const message = record.status === "succeeded"
      ? `${record.operation} ${record.runId} (${record.trigger}) succeeded${counts ? `: ${counts}` : ""}`
      : `${record.operation} ${record.runId} (${record.trigger}) failed: ${
        record.error?.message ?? report?.error ?? report?.steps.find((s) => s.status === "failed")?.detail ??
          "see the run's report"
      }`;
    void event(object, record.status === "succeeded" ? "Normal" : "Warning", reason, message)
      .then(() => refresh(record.replication));
  };

  return {
    name: "dr-syncer.io objects",
    get active() {
      return active;
    },
    async start() {
      try {
        await options.client.request({ method: "GET", path: `/apis/${OPERATOR_GROUP}/${OPERATOR_VERSION}` });
      } catch (error) {
        if (isNotFound(error)) {
          log.info("the dr-syncer.io CRDs are not installed in this cluster: only the config file is used");
        } else {log.warn("cannot tell whether the dr-syncer.io CRDs are installed; not watching them", {
            error,
          });}
        return;
      }
      active = true;
      unsubscribe = runtime.runs.onRunSettled(settled);
      for (const store of stores.values()) loops.push(store.run(stop.signal));
      resync = setInterval(() => {
        for (const name of mappingOf.keys()) void refresh(name);
      }, options.resyncMs ?? 30_000);
    },
    async stop() {
      stop.abort();
      clearTimeout(timer);
      clearInterval(resync);
      unsubscribe();
      await Promise.allSettled(loops);
      await applying;
    },
    async sync() {
      await apply();
    },
  };
}
