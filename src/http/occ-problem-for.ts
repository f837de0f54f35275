import { InvalidVersionError, MissingVersionError, isStaleDataError } from "../errors";
import { PreconditionHeaderError } from "./precondition-header-error";
import { PreconditionRequiredError } from "./precondition-required-error";
import { problemDetails, type ProblemDetails } from "./problem-details";
import { staleDataProblem } from "./stale-data-problem";

export interface OccProblemOptions {
  /** Whether the request carried `If-Match`: a stale write is then 412, otherwise 409. */
  hadIfMatch: boolean;
  /** Prefix for `type` URIs (`${typeBase}stale-data`, …). Defaults to none: `type` is `"about:blank"`. */
  typeBase?: string;
}

/**
 * Maps a typeorm-occ error to the problem details an HTTP API should answer with, or `undefined`
 * for any other error (leave those to your own handling):
 *
 * | error | status |
 * | --- | --- |
 * | `StaleDataError` | 412 with `If-Match`, else 409 |
 * | `PreconditionRequiredError` | 428 |
 * | `PreconditionHeaderError`, `InvalidVersionError`, `MissingVersionError` | 400 |
 *
 * @example
 * const problem = occProblemFor(error, { hadIfMatch: req.headers["if-match"] !== undefined });
 * if (problem) return sendProblem(res, problem);
 */
export function occProblemFor(error: unknown, options: OccProblemOptions): ProblemDetails | undefined {
  const { typeBase } = options;
  const typed = (code: string, title: string) =>
    typeBase === undefined ? { extensions: { code } } : { type: `${typeBase}${code}`, title, extensions: { code } };

  if (isStaleDataError(error)) return staleDataProblem(error, { status: options.hadIfMatch ? 412 : 409, typeBase });
  if (error instanceof PreconditionRequiredError) {
    return problemDetails({ status: 428, detail: error.message, ...typed("precondition-required", "If-Match is required") });
  }
  if (error instanceof PreconditionHeaderError) {
    return problemDetails({ status: 400, detail: error.message, ...typed("invalid-if-match", "Malformed If-Match header") });
  }
  if (error instanceof InvalidVersionError || error instanceof MissingVersionError) {
    return problemDetails({ status: 400, detail: error.message, ...typed("invalid-version", "Invalid version") });
  }
  return undefined;
}
