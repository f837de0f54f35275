import { PROBLEM_CONTENT_TYPE, type ProblemDetails } from "./problem-details";

/**
 * The part of a Node/Express response that writing a problem needs. Express's `Response` and
 * Node's `http.ServerResponse` both fit; no framework types are imported.
 */
export interface ProblemResponse {
  statusCode: number;
  setHeader(name: string, value: string): unknown;
  end(body: string): unknown;
}

/**
 * Writes a problem details body with its status and `Content-Type: application/problem+json`.
 *
 * @example
 * sendProblem(res, problemDetails({ status: 404, detail: `order ${id} does not exist` }));
 */
export function sendProblem(res: ProblemResponse, problem: ProblemDetails): void {
  res.statusCode = problem.status;
  res.setHeader("Content-Type", PROBLEM_CONTENT_TYPE);
  res.setHeader("Cache-Control", "no-store");
  res.end(JSON.stringify(problem));
}
