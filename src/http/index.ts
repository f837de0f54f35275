/**
 * typeorm-occ/http: ETags, If-Match and problem details for HTTP APIs. No web framework is
 * imported; the error handler fits Express (and anything with the same request/response shape).
 *
 * @example
 * import { etagFor, parseIfMatch, occErrorHandler } from "typeorm-occ/http";
 */
export { etagFor } from "./etag-for";
export { parseIfMatch } from "./parse-if-match";
export { PreconditionRequiredError } from "../errors";
export { PreconditionHeaderError } from "../errors";
export { problemDetails, PROBLEM_CONTENT_TYPE, type ProblemDetails, type ProblemDetailsInit } from "./problem-details";
export { staleDataProblem, type StaleDataProblemOptions } from "./stale-data-problem";
export { primaryReadsForWrites, type PrimaryReadsRequest } from "./primary-reads-for-writes";
export { occProblemFor, type OccProblemOptions } from "./occ-problem-for";
export { sendProblem, type ProblemResponse } from "./send-problem";
export {
  occErrorHandler,
  type OccErrorHandlerOptions,
  type OccErrorMiddleware,
  type ErrorHandlerRequest,
  type ErrorHandlerResponse,
} from "./occ-error-handler";
