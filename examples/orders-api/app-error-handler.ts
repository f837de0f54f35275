import type { ErrorRequestHandler } from "express";
import { LockTimeoutError } from "typeorm-occ";
import { problemDetails, sendProblem } from "typeorm-occ/http";
import { OrderNotFoundError } from "./order-not-found-error";
import { OrderStateError } from "./order-state-error";
import { ValidationError } from "./validation-error";

/**
 * The app's own errors as problem details: unknown order → 404, invalid body → 422, an order in
 * the wrong state → 409, an order another request kept locked too long → 503 with Retry-After, and the
 * client errors Express's JSON parser raises (malformed JSON → 400, too large → 413, …) with
 * their own status. typeorm-occ's errors go on to `occErrorHandler()`.
 *
 * @example
 * app.use(appErrorHandler, occErrorHandler(), lastResortHandler);
 */
export const appErrorHandler: ErrorRequestHandler = (error, _req, res, next) => {
  if (res.headersSent) return next(error);
  if (error instanceof OrderNotFoundError) return sendProblem(res, problemDetails({ status: 404, detail: error.message }));
  if (error instanceof OrderStateError) return sendProblem(res, problemDetails({ status: 409, detail: error.message }));
  if (error instanceof LockTimeoutError) {
    res.setHeader("Retry-After", "1");
    return sendProblem(res, problemDetails({ status: 503, detail: "the order is busy with another request, try again" }));
  }
  if (error instanceof ValidationError) {
    return sendProblem(
      res,
      problemDetails({ status: 422, detail: "the request body is not a valid order change", extensions: { errors: error.problems } }),
    );
  }
  const status = clientErrorStatus(error);
  if (status !== undefined) return sendProblem(res, problemDetails({ status, detail: "the request body could not be read" }));
  next(error);
};

/** body-parser marks the errors it raises for bad requests with `expose` and a 4xx status. */
function clientErrorStatus(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const { status, expose } = error as { status?: unknown; expose?: unknown };
  return expose === true && typeof status === "number" && status >= 400 && status < 500 ? status : undefined;
}

/**
 * Anything left is a bug or an outage: log it, answer 500 without internals.
 *
 * @example
 * app.use(lastResortHandler); // the very last middleware
 */
export const lastResortHandler: ErrorRequestHandler = (error, _req, res, next) => {
  console.error(error);
  if (res.headersSent) return next(error);
  sendProblem(res, problemDetails({ status: 500, detail: "unexpected error" }));
};
