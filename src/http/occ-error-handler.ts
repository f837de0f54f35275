import { occProblemFor } from "./occ-problem-for";
import { sendProblem, type ProblemResponse } from "./send-problem";

/** What the handler reads from a request: only its headers. Express's `Request` fits. */
export interface ErrorHandlerRequest {
  headers: { [name: string]: string | string[] | undefined };
}

/** What the handler needs from a response. Express's `Response` fits. */
export interface ErrorHandlerResponse extends ProblemResponse {
  headersSent: boolean;
}

export interface OccErrorHandlerOptions {
  /** Prefix for problem `type` URIs (`${typeBase}stale-data`, …). Defaults to none: `type` is `"about:blank"`. */
  typeBase?: string;
}

/** An Express error middleware: four parameters, which is how Express tells it from a normal one. */
export type OccErrorMiddleware = (
  error: unknown,
  req: ErrorHandlerRequest,
  res: ErrorHandlerResponse,
  next: (error?: unknown) => void,
) => void;

/**
 * Express-compatible error middleware that answers typeorm-occ errors with RFC 9457 problem
 * details (`application/problem+json`) and passes every other error on with `next(error)`:
 *
 * - `StaleDataError` → 412 Precondition Failed when the request carried `If-Match`; 409 Conflict
 *   when it did not (the version came from the body or the server, so no HTTP precondition failed)
 * - `PreconditionRequiredError` → 428 Precondition Required
 * - `PreconditionHeaderError`, `InvalidVersionError`, `MissingVersionError` → 400 Bad Request
 *
 * Errors raised after the response started are passed on too. Express 5 forwards rejected
 * promises from async handlers here by itself.
 *
 * @example
 * import { occErrorHandler } from "typeorm-occ/http";
 *
 * app.patch("/orders/:id", async (req, res) => {
 *   const order = await orders.findOneByOrFail({ id: Number(req.params.id) });
 *   order.version = parseIfMatch(req.headers["if-match"]);
 *   order.note = String(req.body.note);
 *   await orders.save(order);
 *   res.setHeader("ETag", etagFor(order)).json(order);
 * });
 * app.use(occErrorHandler()); // after the routes
 */
export function occErrorHandler(options: OccErrorHandlerOptions = {}): OccErrorMiddleware {
  return function occErrorMiddleware(error, req, res, next) {
    if (res.headersSent) return next(error);
    const problem = occProblemFor(error, { hadIfMatch: req.headers["if-match"] !== undefined, typeBase: options.typeBase });
    if (!problem) return next(error);
    sendProblem(res, problem);
  };
}
