/**
 * Helm's release records (docs/sync-rules.md, "Helm releases"): Secrets of type `helm.sh/release.v1`,
 * named `sh.helm.release.v1.<release>.v<revision>` and labelled `owner: helm`, `name: <release>`,
 * `version: <revision>`. Helm writes them whole: an upgrade, a rollback or an uninstall on either side
 * rewrites the record of the revision it supersedes from scratch, with Helm's labels only, so the copy
 * loses dr-syncer's provenance. Such a record is still recognised as the copy of the source's record
 * of the same release and revision.
 */
import type { KubeObject } from "../kube/types.ts";

/** The `type` of Helm's release records. */
export const HELM_RELEASE_TYPE = "helm.sh/release.v1";
const RECORD_NAME = /^sh\.helm\.release\.v1\.(.+)\.v(\d+)$/;

/** A Helm release record, by its type (a full object) or by its name and labels (a listed one). */
export function isHelmRecord(obj: KubeObject): boolean {
  if (obj.kind !== "Secret") return false;
  if (obj.type === HELM_RELEASE_TYPE) return true;
  const labels = obj.metadata.labels ?? {};
  const match = RECORD_NAME.exec(obj.metadata.name);
  return obj.type === undefined && match !== null && labels.owner === "helm" && labels.name === match[1] &&
    labels.version === match[2];
}

/**
 * Whether `current` (on the receiving side, possibly listed as metadata only) is Helm's rewrite of
 * the record `desired` copies: a Helm record of the same name, release and revision.
 */
export function isHelmRecordOf(desired: KubeObject, current: KubeObject): boolean {
  if (desired.type !== HELM_RELEASE_TYPE || !isHelmRecord(current)) return false;
  const want = desired.metadata.labels ?? {}, have = current.metadata.labels ?? {};
  return current.metadata.name === desired.metadata.name && have.owner === "helm" &&
    have.name === want.name && have.version === want.version;
}
