/**
 * The contract of a per-kind rule: its apply order and, where a kind really differs, a transform.
 * The rules themselves are listed in `kind_rules.ts`; the transforms of the kinds that need one
 * live in `transform_*.ts` and depend only on this file.
 */
import type { KubeObject } from "../kube/types.ts";
import type { TransformContext } from "./contracts.ts";

/** What a per-kind transform reports besides its edits. */
export interface KindTransformResult {
  readonly warnings?: readonly string[];
  /** Reported as failures; the object is still written (e.g. a bad scale-override label). */
  readonly errors?: readonly string[];
  /** Set when the object cannot be copied at all (e.g. its StorageClass does not exist on DR). */
  readonly refusal?: string;
}

/**
 * Edits `draft` in place. `draft` is a private deep copy of the source object whose metadata is not
 * cleaned yet, so managedFields and the last-applied annotation can still be read.
 */
export type KindTransform = (draft: KubeObject, ctx: TransformContext) => KindTransformResult;

export interface KindRule {
  readonly group: string;
  readonly kind: string;
  /** Apply order, lowest first (docs/sync-rules.md, "Writing"); prunes run in reverse. */
  readonly order: number;
  readonly transform?: KindTransform;
}

/** Order of the kinds not in the table (custom resources...): after workloads, before Ingresses. */
export const DEFAULT_RULE_ORDER = 70;
/** Order of the DR Namespace itself. */
export const NAMESPACE_ORDER = 0;
