import { InvalidVersionError, looksLikeEtag } from "../errors";

/** A version written as text: decimal digits, no sign or leading zero, at most 16 digits. */
export const DECIMAL_VERSION = /^(0|[1-9][0-9]{0,15})$/;

/** The first version a row gets on INSERT. */
export const INITIAL_VERSION = 1;

/** True for the only values a version may hold: safe, non-negative integers. */
export function isVersionNumber(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/**
 * Checks a version the application supplied. Strings are rejected even when numeric: they come
 * from request input that was never validated, so the caller must convert them deliberately
 * (see {@link parseVersion}).
 */
export function assertVersion(entityName: string, propertyName: string, value: unknown): number {
  if (!isVersionNumber(value)) throw new InvalidVersionError(entityName, propertyName, value);
  return value;
}

/**
 * Converts a version taken from the outside world (a form field, a JSON body, a query string) into
 * a number, strictly: only decimal digits, no sign, no exponent, no whitespace, at most
 * `Number.MAX_SAFE_INTEGER`. Anything else throws {@link InvalidVersionError}. An `If-Match` header
 * value (`"3"`, `W/"3"`) is an ETag, not a version: read it with `parseIfMatch()` from
 * `typeorm-occ/http` (the error says so).
 *
 * @example
 * order.version = parseVersion(req.body.version); // "3" -> 3, "3.0" / "abc" / "" -> InvalidVersionError
 */
export function parseVersion(input: unknown, label = "version"): number {
  if (isVersionNumber(input)) return input;
  if (typeof input === "string" && DECIMAL_VERSION.test(input)) {
    const parsed = Number(input);
    if (Number.isSafeInteger(parsed)) return parsed;
  }
  throw new InvalidVersionError("input", label, input, typeof input === "string" ? stringProblem(input) : undefined);
}

/** Why a string is not a version: an ETag belongs to parseIfMatch(); anything else is not written as a version is. */
function stringProblem(input: string): string {
  if (looksLikeEtag(input))
    return 'it is an If-Match header value (an ETag): read it with parseIfMatch() from "typeorm-occ/http", which takes the quotes off';
  return 'a version is written as decimal digits only, e.g. "3" (no sign, spaces, decimals or exponent; at most 2^53 - 1)';
}
