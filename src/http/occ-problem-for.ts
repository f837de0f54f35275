import { InvalidVersionError, MissingVersionError, StaleDataError, isStaleDataError, type OccError } from "../errors";
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

type ErrorClass<E extends Error> = abstract new (...args: never[]) => E;

interface ClientErrorMapping<E extends Error = Error> {
  errorClasses: readonly ErrorClass<E>[];
  /** Whether `error` is one of these; defaults to `instanceof` any of `errorClasses`. */
  matches?: (error: unknown) => boolean;
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
    errorClasses: [StaleDataError],
    // Shape, not instanceof: two copies of typeorm-occ in one app still map.
    matches: isStaleDataError,
    toProblem: (error, options) => staleDataProblem(error, { status: options.hadIfMatch ? 412 : 409, typeBase: options.typeBase }),
  }),
  mapping({
    errorClasses: [PreconditionRequiredError],
    toProblem: (error, options) => typedProblem(428, error, "If-Match is required", options),
  }),
  mapping({
    errorClasses: [PreconditionHeaderError],
    toProblem: (error, options) => typedProblem(400, error, "Malformed If-Match header", options),
  }),
  mapping({
    errorClasses: [InvalidVersionError],
    toProblem: (error, options) => typedProblem(400, error, "Invalid version", options),
  }),
  mapping({
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
  const entry = CLIENT_ERRORS.find((candidate) =>
    candidate.matches ? candidate.matches(error) : candidate.errorClasses.some((errorClass) => error instanceof errorClass),
  );
  return entry?.toProblem(error as Error, options);
}
