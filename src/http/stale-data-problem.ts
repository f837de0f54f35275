import type { StaleDataError } from "../errors";
import { problemDetails, type ProblemDetails } from "./problem-details";

export interface StaleDataProblemOptions {
  /**
   * 412 when the client sent `If-Match` (its precondition failed), 409 when the version came some
   * other way (a body field, a server-side reload). Defaults to 409.
   */
  status?: 409 | 412;
  /** Prefix for the `type` URI (`${typeBase}stale-data`). Defaults to none: `type` is `"about:blank"`. */
  typeBase?: string;
}

/**
 * The problem details for a lost race: who is stale, which version the client held and which one
 * the database has now (`null` when the row is gone). `code: "stale-data"` names the problem
 * even when `type` is `"about:blank"`.
 *
 * @example
 * catch (error) {
 *   if (isStaleDataError(error)) return sendProblem(res, staleDataProblem(error, { status: 412 }));
 *   throw error;
 * }
 * // { type: "about:blank", title: "Precondition Failed", status: 412, code: "stale-data",
 * //   detail: "Order#7 is stale: expected version 3, found 4 (update)", entity: "Order",
 * //   primaryKey: { id: 7 }, expectedVersion: 3, actualVersion: 4, operation: "update" }
 */
export function staleDataProblem(error: StaleDataError, options: StaleDataProblemOptions = {}): ProblemDetails {
  return problemDetails({
    status: options.status ?? 409,
    type: options.typeBase === undefined ? undefined : `${options.typeBase}stale-data`,
    title: options.typeBase === undefined ? undefined : "The resource was changed by someone else",
    detail: error.message,
    extensions: {
      code: "stale-data",
      entity: error.entityName,
      primaryKey: error.primaryKey,
      expectedVersion: error.expectedVersion,
      actualVersion: error.actualVersion,
      operation: error.operation,
    },
  });
}
