import { OccError } from "./occ-error";

/**
 * A write arrived without an `If-Match` header, so there is no version to check it against.
 * Answer 428 Precondition Required (RFC 6585): the client must read the resource first and send
 * back the ETag it read.
 *
 * @example
 * try {
 *   order.version = parseIfMatch(req.headers["if-match"]);
 * } catch (error) {
 *   if (error instanceof PreconditionRequiredError) return res.status(428).end();
 *   throw error;
 * }
 */
export class PreconditionRequiredError extends OccError {
  override readonly name = "PreconditionRequiredError";
  readonly code = "precondition-required";
  readonly header = "If-Match";

  constructor() {
    super('this request needs an If-Match header carrying the ETag you last read, e.g. If-Match: "3"');
  }
}

/** Longest header excerpt quoted in messages, so a hostile header cannot flood the logs. */
const QUOTE_LIMIT = 40;

/**
 * An `If-Match` header was present but is not exactly one strong ETag in typeorm-occ's format
 * (`"3"`): a wildcard, a weak ETag, a list, or anything else. Answer 400 Bad Request.
 *
 * @example
 * parseIfMatch('W/"3"'); // throws PreconditionHeaderError (reason: "weak ETags cannot guard a write")
 */
export class PreconditionHeaderError extends OccError {
  override readonly name = "PreconditionHeaderError";
  readonly code = "invalid-if-match";
  /** The header value as received, cut to a safe length. */
  readonly value: string;

  constructor(
    value: string,
    /** Why the value was refused, in words. */
    readonly reason: string,
  ) {
    const shown = value.length > QUOTE_LIMIT ? `${value.slice(0, QUOTE_LIMIT)}…` : value;
    // Shown as the header line reads, not JSON-quoted: `got "1"` would read like the valid form.
    super(`If-Match must be exactly one strong ETag such as "3": ${reason} (received If-Match: ${printable(shown)})`);
    this.value = shown;
  }
}

/** Control characters escaped, so the excerpt stays one readable line in a log. */
function printable(value: string): string {
  // eslint-disable-next-line no-control-regex -- escaping control characters is the point
  return value.replace(/[\u0000-\u001f\u007f]/g, (character) => JSON.stringify(character).slice(1, -1));
}
