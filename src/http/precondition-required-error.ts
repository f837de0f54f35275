import { OccError } from "../errors";

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
