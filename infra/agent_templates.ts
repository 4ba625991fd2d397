/**
 * The PVC data agent's objects, one typed template function per object (pure). The agent runs on every node
 * on the host network (pvc-sync reaches it at its pod's IP, the node's address, and its port named `ssh`;
 * its health endpoint listens on the node's loopback only), reads the kubelet's pod volumes, runs every
 * rsync confined to one volume by bubblewrap, and holds only the capabilities those need; Deno runs it with
 * only the permissions it needs (`shared/pvc/agent_command.ts`).
 */
import type { KubeObject } from "../shared/kube/types.ts";
import type { AgentSettings } from "../shared/config/config_schema.ts";
import { agentDenoPermissions } from "../shared/pvc/agent_command.ts";
import {
  AGENT_AUTHORIZED_KEYS_DIR,
  AGENT_HEALTH_PORT,
  AGENT_HEALTH_PORT_NAME,
  AGENT_HOST_KEY_DIR,
  AGENT_NAME,
  AGENT_SSH_PORT_NAME,
  AUTHORIZED_KEYS_SECRET,
  HOST_KEY_PRIVATE,
  HOST_KEY_PUBLIC,
  HOST_KEY_SECRET,
  KUBELET_ROOT,
} from "../shared/pvc/agent_names.ts";
import { commonLabels } from "./names.ts";
import { base64Values } from "./names.ts";

/** The agent's grace period for running transfers on SIGTERM (`--grace-period`). */
export const AGENT_GRACE_SECONDS = 30;

/** Where the agent's health endpoint listens by default: the node's loopback (the kubelet probes it there). */
export const AGENT_HEALTH_HOST = "127.0.0.1";

/**
 * The capabilities the agent keeps (everything else is dropped). It runs as root only to act on files of
 * any owner inside the volumes, as the volume's owner would expect from `rsync -aHSAX --numeric-ids`, and
 * to confine each rsync to its volume. rsync itself keeps all but `SYS_ADMIN` (agent/confine.ts).
 */
export const AGENT_CAPABILITIES: readonly { readonly name: string; readonly why: string }[] = [
  { name: "CHOWN", why: "set the owner and group of received files (-o -g --numeric-ids)" },
  { name: "DAC_OVERRIDE", why: "write into folders and files the agent's uid does not own" },
  { name: "DAC_READ_SEARCH", why: "read and traverse files and folders of any owner when sending" },
  { name: "FOWNER", why: "set times, modes and ACLs (-t -p -A) on files it does not own" },
  { name: "FSETID", why: "keep setuid/setgid bits when it changes a file's owner or mode" },
  { name: "MKNOD", why: "recreate device files and FIFOs found in a volume (-D, part of -a)" },
  { name: "SETFCAP", why: "copy file capabilities (the security.capability attribute, -X)" },
  {
    name: "SYS_ADMIN",
    why: "bubblewrap: a mount namespace per rsync whose root holds only the volume (not kept by rsync)",
  },
];

/** The agent settings the templates read. */
type AgentTemplateSettings = AgentSettings;

export function agentLabels(): Record<string, string> {
  return { "app.kubernetes.io/name": AGENT_NAME, ...commonLabels("agent") };
}

/** The probe's `host`: the health address unless it listens on every address (then the pod's IP). */
function probeHost(healthHost: string): { host?: string } {
  return healthHost === "0.0.0.0" || healthHost === "::" ? {} : { host: healthHost };
}

/** The namespace of the agents and their Secrets. */
export function agentNamespace(settings: AgentSettings): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: settings.namespace, labels: { "app.kubernetes.io/part-of": "dr-syncer" } },
  };
}

/** The agent's ServiceAccount: the agent calls no API, so it gets no rights and no token. */
export function agentServiceAccount(settings: AgentSettings): KubeObject {
  return {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name: AGENT_NAME, namespace: settings.namespace, labels: agentLabels() },
    automountServiceAccountToken: false,
  };
}

/**
 * The host key Secret (ed25519, one per cluster). `dr-syncer deploy` creates it once, when it is missing,
 * with a key generated in-process, and never changes it afterwards (pvc-sync pins the public key).
 */
export function agentHostKeySecret(
  settings: AgentSettings,
  key: { readonly privateKey: string; readonly publicKey: string },
): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: HOST_KEY_SECRET, namespace: settings.namespace, labels: agentLabels() },
    type: "Opaque",
    data: base64Values({ [HOST_KEY_PRIVATE]: key.privateKey, [HOST_KEY_PUBLIC]: key.publicKey }),
  };
}

/**
 * The authorized-keys Secret, without data: pvc-sync adds and removes one data key per transfer. Applied
 * without `data`, deploy never owns (nor removes) those keys, so deploying again leaves running transfers'
 * keys alone.
 */
export function agentAuthorizedKeysSecret(settings: AgentSettings): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: AUTHORIZED_KEYS_SECRET, namespace: settings.namespace, labels: agentLabels() },
    type: "Opaque",
  };
}

/** The agent DaemonSet: one agent per node, on the host network. */
export function agentDaemonSet(settings: AgentTemplateSettings): KubeObject {
  const podsDir = `${KUBELET_ROOT}/pods`;
  const healthHost = settings.healthHost ?? AGENT_HEALTH_HOST;
  const healthPort = settings.healthPort ?? AGENT_HEALTH_PORT;
  const hostKey = `${AGENT_HOST_KEY_DIR}/${HOST_KEY_PRIVATE}`;
  const permissions = agentDenoPermissions({
    root: KUBELET_ROOT,
    hostKeyFiles: [hostKey],
    authorizedKeys: AGENT_AUTHORIZED_KEYS_DIR,
    host: "0.0.0.0",
    port: settings.port,
    healthHost,
    healthPort,
  });
  const capabilities = AGENT_CAPABILITIES.map((c) => c.name);
  // a port below 1024 on the host network needs the right to bind it
  if (settings.port < 1024) capabilities.push("NET_BIND_SERVICE");
  const selector = { "app.kubernetes.io/name": AGENT_NAME };
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name: AGENT_NAME, namespace: settings.namespace, labels: agentLabels() },
    spec: {
      selector: { matchLabels: selector },
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1 } },
      template: {
        metadata: { labels: agentLabels() },
        spec: {
          serviceAccountName: AGENT_NAME,
          automountServiceAccountToken: false,
          hostNetwork: true,
          dnsPolicy: "ClusterFirstWithHostNet",
          // volumes can be mounted on any node, tainted ones included
          tolerations: [{ operator: "Exists" }],
          terminationGracePeriodSeconds: AGENT_GRACE_SECONDS + 10,
          securityContext: {
            runAsUser: 0,
            runAsGroup: 0,
            runAsNonRoot: false,
            seccompProfile: { type: "RuntimeDefault" },
          },
          containers: [{
            name: "agent",
            image: settings.image,
            imagePullPolicy: "IfNotPresent",
            workingDir: "/app",
            command: ["deno", "run", ...permissions, "--cached-only", "--no-code-cache", "agent/main.ts"],
            args: [
              "--root",
              KUBELET_ROOT,
              "--port",
              String(settings.port),
              "--host-key",
              hostKey,
              "--authorized-keys",
              AGENT_AUTHORIZED_KEYS_DIR,
              "--health-host",
              healthHost,
              "--health-port",
              String(healthPort),
              "--grace-period",
              String(AGENT_GRACE_SECONDS),
            ],
            env: [{ name: "HOME", value: "/tmp" }, { name: "DENO_NO_UPDATE_CHECK", value: "1" }],
            ports: [
              { name: AGENT_SSH_PORT_NAME, containerPort: settings.port, protocol: "TCP" },
              { name: AGENT_HEALTH_PORT_NAME, containerPort: healthPort, protocol: "TCP" },
            ],
            // on the host network the kubelet reaches the agent's loopback
            livenessProbe: {
              httpGet: { ...probeHost(healthHost), path: "/healthz", port: AGENT_HEALTH_PORT_NAME },
              periodSeconds: 20,
              failureThreshold: 3,
            },
            readinessProbe: {
              httpGet: { ...probeHost(healthHost), path: "/readyz", port: AGENT_HEALTH_PORT_NAME },
              periodSeconds: 10,
            },
            resources: {
              requests: { cpu: "50m", memory: "64Mi" },
              limits: { memory: "1Gi" },
            },
            securityContext: {
              privileged: false,
              // no_new_privs: bubblewrap works under it (it sets it for every rsync anyway)
              allowPrivilegeEscalation: false,
              readOnlyRootFilesystem: true,
              capabilities: { drop: ["ALL"], add: capabilities },
              // the runtime's default AppArmor profile denies mount(2), which bubblewrap needs
              appArmorProfile: { type: "Unconfined" },
            },
            volumeMounts: [
              { name: "kubelet-pods", mountPath: podsDir, mountPropagation: "HostToContainer" },
              { name: "host-key", mountPath: AGENT_HOST_KEY_DIR, readOnly: true },
              { name: "authorized-keys", mountPath: AGENT_AUTHORIZED_KEYS_DIR, readOnly: true },
              { name: "tmp", mountPath: "/tmp" },
            ],
          }],
          volumes: [
            { name: "kubelet-pods", hostPath: { path: podsDir, type: "Directory" } },
            { name: "host-key", secret: { secretName: HOST_KEY_SECRET, defaultMode: 0o400 } },
            { name: "authorized-keys", secret: { secretName: AUTHORIZED_KEYS_SECRET, defaultMode: 0o400 } },
            { name: "tmp", emptyDir: { sizeLimit: "64Mi" } },
          ],
        },
      },
    },
  };
}
