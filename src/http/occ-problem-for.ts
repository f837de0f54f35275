import {
  InvalidVersionError,
  MissingVersionError,
  PreconditionHeaderError,
  PreconditionRequiredError,
  StaleDataError,
  isOccError,
  isStaleDataError,
  type OccError,
  type OccErrorCode,
} from "../errors";
import { problemDetails, type ProblemDetails } from "./problem-details";
import { staleDataProblem } from "./stale-data-problem";

export interface OccProblemOptions {
  /** Whether the request carried `If-Match`: a stale write is then 412, otherwise 409. */
  hadIfMatch: boolean;
  /** Prefix for `type` URIs (`${typeBase}stale-data`, …). Defaults to none: `type` is `"about:blank"`. */
  typeBase?: string;
}

type ErrorClass<E extends Error> = abstract new (...args: never[]) => E;

interface ClientErrorMapping<E extends Error = Error> {
  /** Matched by code, not `instanceof`: an error from a second copy of typeorm-occ in one app still maps. */
  code: OccErrorCode;
  errorClasses: readonly ErrorClass<E>[];
  toProblem: (error: E, options: OccProblemOptions) => ProblemDetails;
}

/** Types one row against its own classes; the table then holds rows of different error types. */
const mapping = <E extends Error>(entry: ClientErrorMapping<E>) => entry as unknown as ClientErrorMapping;

/** The body carries the error's own `code`, so clients switch on the same string the server does. */
function typedProblem(status: number, error: OccError, title: string, { typeBase }: OccProblemOptions): ProblemDetails {
  const typed = typeBase === undefined ? {} : { type: `${typeBase}${error.code}`, title };
  return problemDetails({ status, detail: error.message, ...typed, extensions: { code: error.code } });
}

/**
 * The errors a client causes, and the answer each gets: the one place to extend when the library
 * gains another. The Express handler and the NestJS filter both read it. Programming errors
 * (`EntityDefinitionError`, `InvalidArgumentError`, `UnguardedWriteError`, `TransactionRequiredError`, …) are not here on
 * purpose: they stay 500.
 */
const CLIENT_ERRORS: readonly ClientErrorMapping[] = [
  mapping({
    code: "stale-data",
    errorClasses: [StaleDataError],
    toProblem: (error, options) => staleDataProblem(error, { status: options.hadIfMatch ? 412 : 409, typeBase: options.typeBase }),
  }),
  mapping({
    code: "precondition-required",
    errorClasses: [PreconditionRequiredError],
    toProblem: (error, options) => typedProblem(428, error, "If-Match is required", options),
  }),
  mapping({
    code: "invalid-if-match",
    errorClasses: [PreconditionHeaderError],
    toProblem: (error, options) => typedProblem(400, error, "Malformed If-Match header", options),
  }),
  mapping({
    code: "invalid-version",
    errorClasses: [InvalidVersionError],
    toProblem: (error, options) => typedProblem(400, error, "Invalid version", options),
  }),
  mapping({
    code: "missing-version",
    errorClasses: [MissingVersionError],
    toProblem: (error, options) => typedProblem(400, error, "Missing version", options),
  }),
];

/** The classes {@link occProblemFor} answers, for frameworks that select handlers by class (NestJS's `@Catch`). */
export const CLIENT_ERROR_CLASSES: readonly ErrorClass<Error>[] = CLIENT_ERRORS.flatMap((entry) => entry.errorClasses);

/**
 * Maps a typeorm-occ error to the problem details an HTTP API should answer with, or `undefined`
 * for any other error (leave those to your own handling):
 *
 * | error | `code` | status |
 * | --- | --- | --- |
 * | `StaleDataError` | `stale-data` | 412 with `If-Match`, else 409 |
 * | `PreconditionRequiredError` | `precondition-required` | 428 |
 * | `PreconditionHeaderError` | `invalid-if-match` | 400 |
 * | `InvalidVersionError` | `invalid-version` | 400 |
 * | `MissingVersionError` | `missing-version` | 400 |
 *
 * The body's `code` is the error's own `code`.
 *
 * @example
 * const problem = occProblemFor(error, { hadIfMatch: req.headers["if-match"] !== undefined });
 * if (problem) return sendProblem(res, problem);
 */
export function occProblemFor(error: unknown, options: OccProblemOptions): ProblemDetails | undefined {
  // isStaleDataError also knows a StaleDataError from a copy of the package older than `code`.
  const code = isOccError(error) ? error.code : isStaleDataError(error) ? "stale-data" : undefined;
  const entry = CLIENT_ERRORS.find((candidate) => candidate.code === code);
  return entry?.toProblem(error as Error, options);
}
