import type { EntityMetadata } from "typeorm";
import type { ColumnMetadata } from "typeorm/metadata/ColumnMetadata";
import { InvalidVersionError } from "../errors";
import { dataSourceOf } from "../internals/typeorm-internals";
import { assertVersion } from "./version-value";

/** The largest value of each integer type a version column may have (signed), where the database enforces it. */
const SIGNED_LIMITS: Record<string, number> = {
  tinyint: 127,
  int2: 32767,
  smallint: 32767,
  mediumint: 8388607,
  int: 2147483647,
  int4: 2147483647,
  integer: 2147483647,
};

/** Drivers whose INTEGER columns hold any 64-bit value, whatever the declared type. */
const SQLITE_FAMILY = new Set(["better-sqlite3", "sqlite", "sqljs", "capacitor", "cordova", "expo", "nativescript", "react-native"]);

/** A TypeORM driver type backed by SQLite. */
export function isSqliteFamily(driverType: string): boolean {
  return SQLITE_FAMILY.has(driverType);
}

/**
 * The largest version a row's column can hold. SQLite's INTEGER is 64 bits (the JavaScript safe
 * integers bound it); PostgreSQL and MariaDB/MySQL enforce the declared type (unsigned doubles it).
 */
export function largestVersion(metadata: EntityMetadata, column: ColumnMetadata): number {
  const driverType: string = dataSourceOf(metadata).driver.options.type;
  if (isSqliteFamily(driverType)) return Number.MAX_SAFE_INTEGER;
  const limit = SIGNED_LIMITS[String(column.type).toLowerCase()];
  if (limit === undefined) return Number.MAX_SAFE_INTEGER;
  return column.unsigned ? limit * 2 + 1 : limit;
}

/**
 * A version the application supplied (see `assertVersion`) that the column can also hold, with room
 * for the next one: a version beyond the column's range could match no row, and the database would
 * refuse the parameter with an error of its own.
 */
export function assertStorableVersion(metadata: EntityMetadata, column: ColumnMetadata, value: unknown): number {
  const version = assertVersion(metadata.name, column.propertyPath, value);
  const largest = largestVersion(metadata, column);
  if (version >= largest) {
    throw new InvalidVersionError(
      metadata.name,
      column.propertyPath,
      value,
      `its ${String(column.type)} column holds versions below ${largest} (leaving room for the next one)`,
    );
  }
  return version;
}
