import type { EntityMetadata, ObjectLiteral, QueryRunner } from "typeorm";
import type { ColumnMetadata } from "typeorm/metadata/ColumnMetadata";
import { OccError, type StaleDataError, type StaleOperation } from "../errors";
import { staleDataError } from "../stale-lookup";
import { assertStorableVersion } from "../version-range";
import { primaryKeyValues } from "../versioned-metadata";
import { readStampOf } from "./read-stamps";

/**
 * A copy carries a version newer than the one its data was read at (the version set from an
 * `If-Match` over a copy read from a lagging replica, a cache, or before the client's last read).
 * Thrown where the version is read, which is synchronous; turned into StaleDataError, with the row's
 * actual version read, by {@link asStaleDataError} before it leaves the library.
 */
export class ClaimAheadOfRead extends OccError {
  constructor(
    readonly metadata: EntityMetadata,
    readonly versionColumn: ColumnMetadata,
    readonly identifier: ObjectLiteral,
    readonly claimed: number,
    readonly readVersion: number,
    readonly operation: StaleOperation,
    readonly entity: ObjectLiteral,
  ) {
    super(`${metadata.name}: the copy carries version ${claimed} but was read at version ${readVersion}`);
  }
}

/**
 * The version a copy claims, checked: storable (see assertStorableVersion), and no newer than the
 * version its data was read at when the library knows that read (an object TypeORM hydrated, or
 * one a save wrote). Objects built by the caller are judged by their claim alone.
 */
export function claimedVersion(metadata: EntityMetadata, column: ColumnMetadata, object: ObjectLiteral, value: unknown, operation: StaleOperation): number {
  const version = assertStorableVersion(metadata, column, value);
  const read = readStampOf(object)?.version;
  if (read !== undefined && version > read) {
    throw new ClaimAheadOfRead(metadata, column, primaryKeyValues(metadata, object), version, read, operation, object);
  }
  return version;
}

/** The StaleDataError a ClaimAheadOfRead stands for, with the row's actual version read on `queryRunner`. */
export async function asStaleDataError(error: ClaimAheadOfRead, queryRunner: QueryRunner): Promise<StaleDataError> {
  return staleDataError(queryRunner, {
    metadata: error.metadata,
    versionColumn: error.versionColumn,
    identifier: error.identifier,
    expectedVersion: error.claimed,
    operation: error.operation,
    entity: error.entity,
    readVersion: error.readVersion,
    reason: `the copy was read at version ${error.readVersion} and carries a newer one (${error.claimed}): its data is older than the version it claims (an If-Match newer than the read, a read from a lagging replica or a cache); reload it`,
  });
}
