import { OccError } from "../errors";

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
  /** The header value as received, cut to a safe length. */
  readonly value: string;

  constructor(
    value: string,
    /** Why the value was refused, in words. */
    readonly reason: string,
  ) {
    const shown = value.length > QUOTE_LIMIT ? `${value.slice(0, QUOTE_LIMIT)}…` : value;
    super(`If-Match must be exactly one strong ETag such as "3": ${reason}, got ${JSON.stringify(shown)}`);
    this.value = shown;
  }
}
