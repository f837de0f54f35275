import { DECIMAL_VERSION, isVersionNumber } from "../version/version-value";
import { PreconditionHeaderError } from "../errors";
import { PreconditionRequiredError } from "../errors";

/**
 * Reads the version a client expects from its `If-Match` header, strictly: exactly one strong ETag
 * in {@link etagFor}'s format (`"3"`). Surrounding spaces are allowed; nothing else is.
 *
 * - header missing → {@link PreconditionRequiredError} (answer 428)
 * - `*`, weak ETags (`W/"3"`), lists (`"3", "4"`), unquoted or non-decimal values, numbers beyond
 *   `Number.MAX_SAFE_INTEGER`, anything else → {@link PreconditionHeaderError} (answer 400)
 *
 * @example
 * const order = await orders.findOneByOrFail({ id });
 * order.version = parseIfMatch(req.headers["if-match"]); // '"3"' -> 3
 * order.status = "shipped";
 * await orders.save(order); // StaleDataError if the row is no longer at version 3
 */
export function parseIfMatch(header: string | readonly string[] | undefined): number {
  if (header === undefined) throw new PreconditionRequiredError();
  if (typeof header !== "string") {
    if (header.length === 0) throw new PreconditionRequiredError();
    if (header.length > 1) throw new PreconditionHeaderError(header.join(", "), "the header was sent more than once");
    return parseIfMatch(header[0]);
  }
  const value = header.replace(/^[ \t]+|[ \t]+$/g, "");
  if (value === "") throw new PreconditionHeaderError(header, "the header is empty");
  if (value === "*") throw new PreconditionHeaderError(header, "a wildcard does not name the version you read");
  if (value.startsWith("W/")) throw new PreconditionHeaderError(header, "weak ETags cannot guard a write");
  if (value.includes(",")) throw new PreconditionHeaderError(header, "only one ETag is allowed");
  // One strong ETag as etagFor() writes it: a decimal version in double quotes.
  if (DECIMAL_VERSION.test(value) && isVersionNumber(Number(value))) {
    throw new PreconditionHeaderError(header, `the version is not quoted: an ETag goes in double quotes, If-Match: "${value}"`);
  }
  const quoted = value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : "";
  const version = DECIMAL_VERSION.test(quoted) ? Number(quoted) : Number.NaN;
  if (!isVersionNumber(version)) throw new PreconditionHeaderError(header, "not an ETag this server issued");
  return version;
}
