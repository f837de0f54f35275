import type { EntityMetadata, ObjectLiteral, QueryRunner } from "typeorm";
import type { ColumnMetadata } from "typeorm/metadata/ColumnMetadata";
import { OccError, type StaleDataError, type StaleOperation } from "../errors";
import { staleDataError } from "../persistence/stale-lookup";
import { assertStorableVersion } from "../version/version-range";
import { primaryKeyValues, rowKey } from "../version/versioned-metadata";
import { readStampOf } from "./read-stamps";
import { undoneWriteSeen } from "./undone-writes";

/**
 * A copy found stale before anything was sent, by what the library knows of its read. Thrown where
 * the version is read, which is synchronous; turned into StaleDataError, with the row's actual
 * version read, by {@link asStaleDataError} before it leaves the library.
 */
export class StaleCopy extends OccError {
  override readonly name = "StaleCopy";
  /** Internal, never seen by callers; the code of the StaleDataError it becomes. */
  readonly code = "stale-data";

  constructor(
    readonly metadata: EntityMetadata,
    readonly versionColumn: ColumnMetadata,
    readonly identifier: ObjectLiteral,
    readonly claimed: number,
    readonly operation: StaleOperation,
    readonly entity: ObjectLiteral,
    readonly reason: string,
    readonly readVersion?: number,
  ) {
    super(`${metadata.name}: ${reason}`);
  }
}

/**
 * The version a copy claims, checked: storable (see assertStorableVersion), no newer than the
 * version its data was read at when the library knows that read (an object TypeORM hydrated, or
 * one a save wrote), and not read from a write that was rolled back since. Objects built by the
 * caller are judged by their claim alone.
 */
export function claimedVersion(
  metadata: EntityMetadata,
  column: ColumnMetadata,
  object: ObjectLiteral,
  value: unknown,
  operation: StaleOperation,
): number {
  const version = assertStorableVersion(metadata, column, value);
  const stamp = readStampOf(object);
  if (!stamp) return version;
  const identifier = primaryKeyValues(metadata, object);
  if (stamp.version !== undefined && version > stamp.version) {
    const reason = `the copy was read at version ${stamp.version} and carries a newer one (${version}): its data is older than the version it claims (an If-Match newer than the read, a read from a lagging replica or a cache); load it again`;
    throw new StaleCopy(metadata, column, identifier, version, operation, object, reason, stamp.version);
  }
  if (stamp.overtaken) {
    const reason =
      "the row was written again after this copy was saved, at the same version (by a subscriber or listener inside that save's transaction): the copy does not show that write; load it again";
    throw new StaleCopy(metadata, column, identifier, version, operation, object, reason);
  }
  if (undoneWriteSeen(stamp, rowKey(metadata, identifier))) {
    const reason =
      "the copy was read inside a transaction (or savepoint) after its write to that row, which was rolled back: it holds data that was never committed; load it again";
    throw new StaleCopy(metadata, column, identifier, version, operation, object, reason);
  }
  return version;
}

/** Two different objects of one row in one save: the second would overwrite the first's write. */
export function duplicateCopy(
  metadata: EntityMetadata,
  column: ColumnMetadata,
  object: ObjectLiteral,
  version: number,
  operation: StaleOperation,
): StaleCopy {
  const reason = "the same save holds another copy of that row, written before this one; save one copy per row";
  return new StaleCopy(metadata, column, primaryKeyValues(metadata, object), version, operation, object, reason);
}

/** The StaleDataError a StaleCopy stands for, with the row's actual version read on `queryRunner`. */
export async function asStaleDataError(error: StaleCopy, queryRunner: QueryRunner): Promise<StaleDataError> {
  return staleDataError(queryRunner, {
    metadata: error.metadata,
    versionColumn: error.versionColumn,
    identifier: error.identifier,
    expectedVersion: error.claimed,
    operation: error.operation,
    entity: error.entity,
    readVersion: error.readVersion,
    reason: error.reason,
  });
}
