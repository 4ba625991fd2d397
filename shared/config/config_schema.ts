/**
 * The config file's schema (zod v4): every object is strict, so a misspelt field is an error, and
 * every error carries the path of the bad field. Defaults, filled in on parse:
 *
 * - `tokens`, `replications`: `[]`.
 * - secret sources: `key` is `"kubeconfig"` for cluster credentials and `"token"` for tokens.
 * - replication `destination.namespace`: the source namespace.
 * - `mode`: `"scheduled"` when a `schedule` is given, else `"manual"`.
 * - `resourceTypes`: left `undefined`, meaning the engine's default types.
 * - `excludeResourceTypes`: `[]`; `includeCustomResources`, `syncCRDs`, `preserveNodePorts`, `prune`,
 *   `pruneClaims`, `adopt`: `false`; `maxPrune`: 50; `scaleToZero`: `true`; `immutable`: `"report"`; the
 *   four maps: `{}`.
 * - `pvc` omitted: `{ enabled: false, verify: "none" }`. A `pvc` block without `enabled` is enabled;
 *   `verify` defaults to `"none"`; no `pvc.schedule` means PVC data moves only on demand and at cutover.
 * - `bandwidthLimit` (`50M`, `10k`, `1G` in binary units, or a number) is normalised to KiB/s.
 * - schedules are normalised to single spaces between fields.
 */
import { z } from "zod";
import type { KubeconfigSource, SecretKeyRef } from "../kube/mod.ts";
import { parseBandwidthLimit } from "./_bandwidth.ts";
import { cronProblem, normalizeCron } from "./_cron.ts";
import { closest, describeValue, quote, quoteAll } from "./_text.ts";

export const REPLICATION_MODES = ["scheduled", "continuous", "manual"] as const;
export type ReplicationMode = (typeof REPLICATION_MODES)[number];

export const IMMUTABLE_POLICIES = ["report", "recreate"] as const;
export type ImmutablePolicy = (typeof IMMUTABLE_POLICIES)[number];

export const PVC_VERIFY_MODES = ["none", "sample", "full"] as const;
export type PvcVerifyMode = (typeof PVC_VERIFY_MODES)[number];

/**
 * A token scope's spelling. Which scopes exist (`read`, the operations, the options that lift a refusal)
 * is the operation registry's to say: the edge hands them in (`configSchemaFor`), and a schema without
 * them checks the spelling only.
 */
const SCOPE_NAME = /^[a-z][a-z0-9-]*$/;

export const ACCESS_MODES = ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"] as const;
export type AccessMode = (typeof ACCESS_MODES)[number];

/** Where a token's value comes from: an environment variable, a file, or a Kubernetes Secret. */
export type TokenSource =
  | { readonly env: string }
  | { readonly path: string }
  | { readonly secret: SecretKeyRef };

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const HOST_NAME = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function dnsLabel(what: string) {
  return z.string().refine((value) => value.length <= 63 && DNS_LABEL.test(value), {
    error: (issue) =>
      `${quote(issue.input)} is not a valid ${what}: use at most 63 lowercase letters, digits and "-", ` +
      "starting and ending with a letter or digit",
  });
}

function dnsSubdomain(what: string) {
  return z.string().refine((value) => value.length <= 253 && DNS_SUBDOMAIN.test(value), {
    error: (issue) =>
      `${quote(issue.input)} is not a valid ${what}: use lowercase letters, digits, "-" and "." ` +
      "(at most 253), starting and ending with a letter or digit",
  });
}

const nonEmpty = z.string().min(1, { error: "Must not be empty" });

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, {
  error: (issue) => `${quote(issue.input)} is not a valid environment variable name`,
});

const secretKeyName = z.string().regex(/^[-._a-zA-Z0-9]{1,253}$/, {
  error: (issue) => `${quote(issue.input)} is not a valid Secret key: use letters, digits, "-", "_" and "."`,
});

function secretRefSchema(defaultKey: string) {
  return z.strictObject({
    name: dnsSubdomain("Secret name"),
    namespace: dnsLabel("namespace name"),
    key: secretKeyName.default(defaultKey),
  });
}

const SOURCE_KEYS = ["path", "env", "secret"] as const;

function sourceCountProblem(
  value: Partial<Record<(typeof SOURCE_KEYS)[number], unknown>>,
  orElse = "",
): string | undefined {
  const set = SOURCE_KEYS.filter((key) => value[key] !== undefined);
  if (set.length === 1) return undefined;
  const found = set.length === 0 ? "" : ` (found ${quoteAll(set)})`;
  return `Needs exactly one of "path", "env" or "secret"${orElse}${found}`;
}

/** The cluster the runtime runs in, reached with its pod's ServiceAccount (`{inCluster: true}`). */
export interface InClusterSource {
  readonly inCluster: true;
}

/** Where a configured cluster's credentials come from. */
export type ClusterKubeconfig = KubeconfigSource | InClusterSource;

/** Whether `source` is the cluster the runtime runs in. */
export function isInCluster(source: ClusterKubeconfig): source is InClusterSource {
  return "inCluster" in source;
}

/**
 * A cluster's kubeconfig: `{path}`, `{env}` or `{secret: {name, namespace, key}}`, each with an optional
 * `context`; or `{inCluster: true}`: the cluster the runtime runs in, with its pod's ServiceAccount.
 */
export const kubeconfigSourceSchema = z
  .strictObject({
    path: nonEmpty.optional(),
    env: envName.optional(),
    secret: secretRefSchema("kubeconfig").optional(),
    inCluster: z.literal(true, { error: "Must be true (or left out)" }).optional(),
    context: nonEmpty.optional(),
  })
  .transform((value, ctx): ClusterKubeconfig => {
    if (value.inCluster === true) {
      const others = (["path", "env", "secret", "context"] as const).filter((key) =>
        value[key] !== undefined
      );
      if (others.length === 0) return { inCluster: true };
      ctx.addIssue({
        code: "custom",
        message: `inCluster takes no ${quoteAll(others)}: the runtime's own ServiceAccount is used`,
        input: value,
      });
      return z.NEVER;
    }
    const problem = sourceCountProblem(value, ', or "inCluster: true"');
    if (problem !== undefined) {
      ctx.addIssue({ code: "custom", message: problem, input: value });
      return z.NEVER;
    }
    const context = value.context === undefined ? {} : { context: value.context };
    if (value.path !== undefined) return { path: value.path, ...context };
    if (value.env !== undefined) return { env: value.env, ...context };
    if (value.secret !== undefined) return { secret: value.secret, ...context };
    return z.NEVER;
  });

/** A token's value: `{env}`, `{path}` or `{secret: {name, namespace, key}}`. */
export const tokenSourceSchema = z
  .strictObject({
    path: nonEmpty.optional(),
    env: envName.optional(),
    secret: secretRefSchema("token").optional(),
  })
  .transform((value, ctx): TokenSource => {
    const problem = sourceCountProblem(value);
    if (problem !== undefined) {
      ctx.addIssue({ code: "custom", message: problem, input: value });
      return z.NEVER;
    }
    if (value.path !== undefined) return { path: value.path };
    if (value.env !== undefined) return { env: value.env };
    if (value.secret !== undefined) return { secret: value.secret };
    return z.NEVER;
  });

/** A cron expression (5 fields, or 6 with seconds first), validated with croner and normalised. */
export const cronScheduleSchema = z
  .string()
  .superRefine((value, ctx) => {
    const problem = cronProblem(value);
    if (problem !== undefined) {
      ctx.addIssue({
        code: "custom",
        message: `${quote(value)} is not a valid cron expression: ${problem}`,
        input: value,
      });
    }
  })
  .transform(normalizeCron);

/** `50M`, `10k`, `1G` (binary units) or a number of KiB/s; the output is KiB/s. */
export const bandwidthLimitSchema = z
  .union([z.number(), z.string()], {
    error: (issue) => `Expected a number of KiB/s or a rate such as "50M", got ${describeValue(issue.input)}`,
  })
  .transform((value, ctx) => {
    const parsed = parseBandwidthLimit(value);
    if ("problem" in parsed) {
      ctx.addIssue({
        code: "custom",
        message: `${quote(value)} is not a valid bandwidth limit: ${parsed.problem}`,
        input: value,
      });
      return z.NEVER;
    }
    return parsed.kib;
  });

/** PVC data sync settings; a block without `enabled` is enabled. */
export const pvcSyncSchema = z
  .strictObject({
    enabled: z.boolean().optional(),
    /** When PVC data is copied on its own schedule (besides on demand and at cutover). */
    schedule: cronScheduleSchema.optional(),
    /** KiB/s after parsing. */
    bandwidthLimit: bandwidthLimitSchema.optional(),
    verify: z.enum(PVC_VERIFY_MODES).default("none"),
  })
  .transform((pvc) => ({ ...pvc, enabled: pvc.enabled ?? true }));

export type PvcSync = z.output<typeof pvcSyncSchema>;

const resourceTypeName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9.-]*$/, {
  error: (issue) =>
    `${
      quote(issue.input)
    } is not a resource type name: use a plural, singular or short name, or "resource.group"`,
});

const hostName = z.string().refine((value) => value.length <= 253 && HOST_NAME.test(value), {
  error: (issue) => `${quote(issue.input)} is not a valid host name`,
});

const accessMode = z.enum(ACCESS_MODES);
const accessModeKey = z.string().refine((value) => (ACCESS_MODES as readonly string[]).includes(value), {
  error: (issue) => `${quote(issue.input)} is not an access mode: use one of ${quoteAll(ACCESS_MODES)}`,
});

const includeCustomResourcesSchema = z.union(
  [
    z.boolean(),
    z.array(resourceTypeName).min(1, { error: "Must name at least one type, or be true or false" }),
  ],
  { error: (issue) => `Expected true, false or a list of resource types, got ${describeValue(issue.input)}` },
);

const endpointSchema = z.strictObject({
  cluster: dnsLabel("cluster name"),
  namespace: dnsLabel("namespace name"),
});

const destinationSchema = z.strictObject({
  cluster: dnsLabel("cluster name"),
  /** Defaults to the source namespace. */
  namespace: dnsLabel("namespace name").optional(),
});

const DEFAULT_PVC: PvcSync = { enabled: false, verify: "none" };

/** One replication: a source namespace copied to a DR namespace, with the sync-rules options. */
export const replicationSchema = z
  .strictObject({
    name: dnsLabel("replication name"),
    source: endpointSchema,
    destination: destinationSchema,
    mode: z.enum(REPLICATION_MODES).optional(),
    schedule: cronScheduleSchema.optional(),
    /** Replaces the default types; omitted means the defaults. */
    resourceTypes: z
      .array(resourceTypeName)
      .min(1, { error: "Must name at least one type: omit it to copy the default types" })
      .optional(),
    excludeResourceTypes: z.array(resourceTypeName).default(() => []),
    /** `true`: every namespaced type outside the built-in groups; a list: those types. */
    includeCustomResources: includeCustomResourcesSchema.default(false),
    syncCRDs: z.boolean().default(false),
    scaleToZero: z.boolean().default(true),
    preserveNodePorts: z.boolean().default(false),
    prune: z.boolean().default(false),
    /** Prune may delete PersistentVolumeClaims (their data) too. */
    pruneClaims: z.boolean().default(false),
    /** The most objects one run may prune; a run that would prune more is refused. */
    maxPrune: z.number().int().min(0).max(100_000).default(50),
    /** Take over DR objects dr-syncer did not create (by default they are reported and left alone). */
    adopt: z.boolean().default(false),
    immutable: z.enum(IMMUTABLE_POLICIES).default("report"),
    storageClassMap: z.record(dnsSubdomain("StorageClass name"), dnsSubdomain("StorageClass name")).default(
      () => ({}),
    ),
    accessModeMap: z.record(accessModeKey, accessMode).default(() => ({})),
    ingressHostMap: z.record(hostName, hostName).default(() => ({})),
    ingressClassMap: z.record(dnsSubdomain("IngressClass name"), dnsSubdomain("IngressClass name")).default(
      () => ({}),
    ),
    pvc: pvcSyncSchema.optional(),
  })
  .superRefine((replication, ctx) => {
    const mode = replication.mode ?? (replication.schedule === undefined ? "manual" : "scheduled");
    if (mode === "scheduled" && replication.schedule === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["schedule"],
        message: 'Required when mode is "scheduled"',
        input: undefined,
      });
    }
    if (mode === "manual" && replication.schedule !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["schedule"],
        message: 'Not used when mode is "manual": remove it, or set mode to "scheduled"',
        input: replication.schedule,
      });
    }
    const { source, destination } = replication;
    if (
      destination.cluster === source.cluster &&
      (destination.namespace ?? source.namespace) === source.namespace
    ) {
      ctx.addIssue({
        code: "custom",
        path: ["destination"],
        message: `Same cluster ${quote(source.cluster)} and namespace ${
          quote(source.namespace)
        } as the source`,
        input: destination,
      });
    }
  })
  .transform((replication) => {
    const mode: ReplicationMode = replication.mode ??
      (replication.schedule === undefined ? "manual" : "scheduled");
    const destination = {
      cluster: replication.destination.cluster,
      namespace: replication.destination.namespace ?? replication.source.namespace,
    };
    const pvc: PvcSync = replication.pvc ?? DEFAULT_PVC;
    return { ...replication, destination, mode, pvc };
  });

export type Replication = z.output<typeof replicationSchema>;

/** A cluster and where its kubeconfig comes from. */
export const clusterSchema = z.strictObject({
  name: dnsLabel("cluster name"),
  kubeconfig: kubeconfigSourceSchema,
  /**
   * A kubeconfig read from a Secret or an environment variable may run an exec plugin (a command run
   * by the runtime) only when this is set; one from a file of the operator's is trusted.
   */
  allowExec: z.boolean().default(false),
  /**
   * A kubeconfig read from a Secret or an environment variable may name files (`tokenFile`,
   * `client-certificate`, `client-key`, `certificate-authority` paths: read by the runtime and sent to the
   * server it names) only when this is set.
   */
  allowFileReferences: z.boolean().default(false),
});

export type Cluster = z.output<typeof clusterSchema>;

/** A replication's name, or a glob of names (`*` matches any run of characters). */
const replicationPattern = z.string().regex(/^[a-z0-9*]([-a-z0-9*]{0,61}[a-z0-9*])?$/, {
  error: (issue) =>
    `${quote(issue.input)} is not a replication name or glob: lowercase letters, digits, "-" and "*"`,
});

/** An API token and the scopes it has: `read` (the GET routes), operations, and options that lift a refusal. */
export function tokenSchemaFor(scopes?: readonly string[]) {
  const scope = scopes === undefined
    ? z.string().regex(SCOPE_NAME, { error: (issue) => `${quote(issue.input)} is not a scope name` })
    : z.string().refine((value) => scopes.includes(value), {
      error: (issue) => {
        const suggestion = typeof issue.input === "string" ? closest(issue.input, scopes) : undefined;
        return `${quote(issue.input)} is not a scope${
          suggestion === undefined ? "" : `, did you mean ${quote(suggestion)}?`
        } (scopes: ${quoteAll(scopes)})`;
      },
    });
  return z
    .strictObject({
      name: dnsLabel("token name"),
      value: tokenSourceSchema,
      /** The replications it may act on or read: names, or globs with `*` (default: all). */
      replications: z.array(replicationPattern).min(1, {
        error: 'Must name at least one replication, or "*" for all',
      }).default(() => ["*"]),
      operations: z.array(scope).min(1, {
        error: scopes === undefined
          ? "Must list at least one scope"
          : `Must list at least one of ${quoteAll(scopes)}`,
      }),
    })
    .superRefine((token, ctx) => {
      token.operations.forEach((operation, index) => {
        if (token.operations.indexOf(operation) !== index) {
          ctx.addIssue({
            code: "custom",
            path: ["operations", index],
            message: `${quote(operation)} is listed twice`,
            input: operation,
          });
        }
      });
    });
}

/** A token whose scopes are checked for their spelling only. */
export const tokenSchema = tokenSchemaFor();

export type Token = z.output<typeof tokenSchema>;

type Context = z.RefinementCtx<unknown>;

function checkUniqueNames(
  ctx: Context,
  list: "clusters" | "tokens" | "replications",
  what: string,
  items: readonly { readonly name: string }[],
): void {
  const firstIndex = new Map<string, number>();
  items.forEach((item, index) => {
    const earlier = firstIndex.get(item.name);
    if (earlier === undefined) {
      firstIndex.set(item.name, index);
      return;
    }
    ctx.addIssue({
      code: "custom",
      path: [list, index, "name"],
      message: `Duplicate ${what} name ${quote(item.name)}: ${list}[${earlier}] has the same name`,
      input: item.name,
    });
  });
}

/** Clusters named in an "unknown cluster" message, and searched for a "did you mean". */
const MAX_LISTED_CLUSTERS = 20;

function unknownClusterMessage(name: string, known: readonly string[]): string {
  const listed = known.slice(0, MAX_LISTED_CLUSTERS);
  const suggestion = known.length <= MAX_LISTED_CLUSTERS ? closest(name, known) : undefined;
  const hint = suggestion === undefined ? "" : `, did you mean ${quote(suggestion)}?`;
  const more = known.length > listed.length ? ` and ${known.length - listed.length} more` : "";
  return `Unknown cluster ${quote(name)}${hint} (configured clusters: ${quoteAll(listed)}${more})`;
}

/**
 * What the cross-field checks read of a replication. A replication that failed its own checks reaches them
 * untransformed (zod skips the transform), so the destination namespace may still be unset.
 */
interface ReplicationRefs {
  readonly name: string;
  readonly source: { readonly cluster: string; readonly namespace: string };
  readonly destination: { readonly cluster: string; readonly namespace?: string | undefined };
}

function checkReplications(
  ctx: Context,
  clusters: readonly { readonly name: string }[],
  replications: readonly ReplicationRefs[],
): void {
  const clusterNames = clusters.map((cluster) => cluster.name);
  const knownClusters = new Set(clusterNames);
  const target = (r: ReplicationRefs) => ({
    cluster: r.destination.cluster,
    namespace: r.destination.namespace ?? r.source.namespace,
  });
  const destinations = new Map<string, number>();
  /** The first replication from each source to each destination, by `source -> destination`. */
  const firstByRoute = new Map<string, number>();
  const route = (from: { cluster: string; namespace: string }, to: { cluster: string; namespace: string }) =>
    JSON.stringify([from.cluster, from.namespace, to.cluster, to.namespace]);
  replications.forEach((replication, index) => {
    for (const side of ["source", "destination"] as const) {
      const name = replication[side].cluster;
      if (!knownClusters.has(name)) {
        ctx.addIssue({
          code: "custom",
          path: ["replications", index, side, "cluster"],
          message: unknownClusterMessage(name, clusterNames),
          input: name,
        });
      }
    }
    const { source } = replication;
    const destination = target(replication);
    const key = `${destination.cluster}/${destination.namespace}`;
    const earlier = destinations.get(key);
    if (earlier === undefined) destinations.set(key, index);
    else {
      ctx.addIssue({
        code: "custom",
        path: ["replications", index, "destination"],
        message:
          `Same destination as replications[${earlier}] (cluster ${quote(destination.cluster)}, namespace ` +
          `${quote(destination.namespace)}): two replications cannot write to one namespace`,
        input: replication.destination,
      });
    }
    const reversed = firstByRoute.get(route(destination, source));
    const own = route(source, destination);
    if (!firstByRoute.has(own)) firstByRoute.set(own, index);
    const original = reversed === undefined ? undefined : replications[reversed];
    if (original !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["replications", index, "destination"],
        message: `Copies back into the source of replications[${reversed}] (${quote(original.name)}), ` +
          "whose workloads it would scale to zero: use failback to go back",
        input: replication.destination,
      });
    }
  });
}

/** The version of the images `dr-syncer render` names by default (the runtime's and the agent's). */
export const IMAGE_VERSION = "0.1.0";

/**
 * Where the PVC data agents run in every cluster, and what pvc-sync starts next to them. The names of the
 * agent's DaemonSet and Secrets derive from these (`shared/pvc/agent_names.ts`).
 */
export const agentSchema = z.strictObject({
  /** The namespace of the agent DaemonSet and its Secrets (host key, authorized keys), in every cluster. */
  namespace: dnsLabel("namespace name").default("dr-syncer-system"),
  /** The SSH port the agents listen on (host network: the node's port). */
  port: z.number().int().min(1).max(65535).default(2222),
  /**
   * Where the agent answers its health probes: an address of the node (default loopback, so only the SSH
   * port is taken on every address) and a port (two installs on one node need two).
   */
  healthHost: z.string().regex(/^(\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F:]+)$/, {
    error: (issue) => `${quote(issue.input)} is not an IP address`,
  }).default("127.0.0.1"),
  healthPort: z.number().int().min(1).max(65535).default(9222),
  /** The agent's image. */
  image: nonEmpty.default(`ghcr.io/dr-syncer/agent:${IMAGE_VERSION}`),
  /** The image of the short-lived pods that mount a claim no running pod mounts (it only has to sleep). */
  mounterImage: nonEmpty.default("registry.k8s.io/pause:3.10"),
});

export type AgentSettings = z.output<typeof agentSchema>;

/** Runs at once per runtime replica when `runtime.maxConcurrentRuns` is not given. */
export const DEFAULT_MAX_CONCURRENT_RUNS = 4;

/**
 * Where and how `dr-syncer deploy` runs the runtime (`dr-syncer serve`). `cluster` omitted: the destination
 * cluster of the replications (the DR side, which must outlive the source); `dr-syncer render` and `deploy`
 * refuse to guess when the replications go to several clusters.
 */
export const runtimeSchema = z.strictObject({
  /** The cluster the runtime runs in (default: the replications' destination cluster). */
  cluster: dnsLabel("cluster name").optional(),
  /** The namespace of the runtime, its ServiceAccount, its config and the kubeconfigs of the other clusters. */
  namespace: dnsLabel("namespace name").default("dr-syncer-system"),
  /** The runtime's image. */
  image: nonEmpty.default(`ghcr.io/dr-syncer/runtime:${IMAGE_VERSION}`),
  /** The HTTP port of `dr-syncer serve` (container and Service). */
  port: z.number().int().min(1).max(65535).default(8080),
  /** Replicas of the runtime Deployment (they share the work through the Leases and run records). */
  replicas: z.number().int().min(1).max(20).default(1),
  /** Instead of the Deployment and Service: one CronJob per scheduled replication running `dr-syncer stage`. */
  cronJobs: z.boolean().default(false),
  /** `GET /metrics` requires a token with the `read` scope (it names the replications and their state). */
  protectMetrics: z.boolean().default(false),
  /**
   * Runs at once per runtime replica; more wait, first come first served (the watcher's small runs and the
   * operations that switch sides never wait).
   */
  maxConcurrentRuns: z.number().int().min(1).max(256).default(DEFAULT_MAX_CONCURRENT_RUNS),
});

export type RuntimeSettings = z.output<typeof runtimeSchema>;

/**
 * The whole config file, with the cross-field checks (unique names, known clusters, distinct destinations);
 * `scopes`: the token scopes that exist (from the operation registry).
 */
export function configSchemaFor(scopes?: readonly string[]) {
  return z.strictObject({
    clusters: z.array(clusterSchema).min(1, { error: "Must list at least one cluster" }),
    tokens: z.array(tokenSchemaFor(scopes)).default(() => []),
    replications: z.array(replicationSchema).default(() => []),
    agent: agentSchema.default(() => agentSchema.parse({})),
    runtime: runtimeSchema.default(() => runtimeSchema.parse({})),
  })
    .superRefine((config, ctx) => {
      checkUniqueNames(ctx, "clusters", "cluster", config.clusters);
      checkUniqueNames(ctx, "tokens", "token", config.tokens);
      checkUniqueNames(ctx, "replications", "replication", config.replications);
      checkReplications(ctx, config.clusters, config.replications);
      const runtimeCluster = config.runtime.cluster;
      const clusterNames = config.clusters.map((cluster) => cluster.name);
      if (runtimeCluster !== undefined && !clusterNames.includes(runtimeCluster)) {
        ctx.addIssue({
          code: "custom",
          path: ["runtime", "cluster"],
          message: unknownClusterMessage(runtimeCluster, clusterNames),
          input: runtimeCluster,
        });
      }
    });
}

/** The config schema with token scopes checked for their spelling only (the edge hands in the real ones). */
export const configSchema = configSchemaFor();

/** A validated config with every default filled in. */
export type Config = z.output<typeof configSchema>;
/** A config as written (defaults optional). */
export type ConfigInput = z.input<typeof configSchema>;
