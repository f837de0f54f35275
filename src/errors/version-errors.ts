import { OccError } from "./occ-error";
import { conversionHint, describeValue, formatPrimaryKey } from "./format";

/** A version value that is not a safe, non-negative integer (a string from HTTP, `1.5`, `NaN`, `-1`, …). */
export class InvalidVersionError extends OccError {
  override readonly name = "InvalidVersionError";
  readonly code = "invalid-version";
  /** `reason`: what else the value violates, when it is a safe non-negative integer (e.g. the column's range). */
  constructor(
    readonly entityName: string,
    readonly propertyName: string,
    readonly value: unknown,
    reason?: string,
  ) {
    super(
      reason
        ? `${entityName}.${propertyName} cannot be ${describeValue(value)}: ${reason}`
        : `${entityName}.${propertyName} must be a safe non-negative integer, got ${describeValue(value)}${conversionHint(value)}`,
    );
  }
}

/**
 * An existing row was saved or removed without a version, or `updateVersioned` / `deleteVersioned`
 * was given a key without one: the write could not be checked, and an unchecked overwrite is
 * exactly the lost update this library prevents.
 */
export class MissingVersionError extends OccError {
  override readonly name = "MissingVersionError";
  readonly code = "missing-version";
  /** `problem`: where the version was missing and what to pass, when it was not a save or remove of an entity. */
  constructor(
    readonly entityName: string,
    readonly propertyName: string,
    readonly primaryKey: Record<string, unknown>,
    problem?: string,
  ) {
    super(
      problem === undefined
        ? `${entityName}#${formatPrimaryKey(primaryKey)} has no ${propertyName}: load the row or pass the version the client read before saving or removing it`
        : `${entityName}#${formatPrimaryKey(primaryKey)}: ${problem}`,
    );
  }
}
