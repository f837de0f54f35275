import { AsyncLocalStorage } from "node:async_hooks";
import type { EntityMetadata, ObjectLiteral } from "typeorm";
import { hasCompletePrimaryKey, rowKey } from "../version/versioned-metadata";
import { adoptStamp, readStampOf } from "./read-stamps";
import { adoptSnapshot } from "./read-snapshots";

/**
 * A copy refreshed in place — `BaseEntity.reload()`, `merge(copy, freshCopy)` — holds what the fresh
 * read holds, so it takes over that read (its stamp and snapshot). Anything less than a whole row
 * (a request body merged in, a partial select) leaves the copy's own read in place.
 */
const captured = new AsyncLocalStorage<{ metadata: EntityMetadata; entity: ObjectLiteral }[]>();

/** Called for every copy TypeORM hydrates: collected while a refresh in place runs. */
export function noteHydrated(metadata: EntityMetadata, entity: ObjectLiteral): void {
  captured.getStore()?.push({ metadata, entity });
}

/** Runs `reload()` of `target`, then gives `target` the read of the row it reloaded. */
export async function reloadInPlace(target: ObjectLiteral, reload: () => Promise<void>): Promise<void> {
  const reads: { metadata: EntityMetadata; entity: ObjectLiteral }[] = [];
  await captured.run(reads, reload);
  const fresh = reads.find(({ metadata, entity }) => sameRow(metadata, target, entity));
  if (fresh) adopt(fresh.metadata, target, fresh.entity);
}

/** After `merge(target, ...sources)`: the last whole, read source of the same row lends `target` its read. */
export function mergedInPlace(metadata: EntityMetadata, target: ObjectLiteral, sources: unknown[]): void {
  for (const source of [...sources].reverse()) {
    if (!source || typeof source !== "object" || !readStampOf(source) || !sameRow(metadata, target, source as ObjectLiteral)) continue;
    const whole = metadata.columns.every(
      (column) => column.relationMetadata || column.isVirtual || column.getEntityValue(source) !== undefined,
    );
    if (whole) adopt(metadata, target, source as ObjectLiteral);
    return;
  }
}

function sameRow(metadata: EntityMetadata, a: ObjectLiteral, b: ObjectLiteral): boolean {
  return hasCompletePrimaryKey(metadata, a) && hasCompletePrimaryKey(metadata, b) && rowKey(metadata, a) === rowKey(metadata, b);
}

function adopt(metadata: EntityMetadata, target: ObjectLiteral, source: ObjectLiteral): void {
  adoptStamp(target, source);
  adoptSnapshot(metadata, target, source);
}
