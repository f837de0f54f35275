import { InvalidArgumentError } from "../errors";

/** The media type of an RFC 9457 problem details body. */
export const PROBLEM_CONTENT_TYPE = "application/problem+json";

/** An RFC 9457 problem details body; extension members sit beside the standard ones. */
export interface ProblemDetails {
  /** A URI naming the problem type. Defaults to `"about:blank"`, meaning "just the HTTP status". */
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  [extension: string]: unknown;
}

export interface ProblemDetailsInit {
  status: number;
  /** Defaults to the status's reason phrase ("Precondition Failed"), as RFC 9457 asks for `about:blank`. */
  title?: string;
  /** Defaults to `"about:blank"`. */
  type?: string;
  detail?: string;
  instance?: string;
  /** Extra members, e.g. `{ entity: "Order", expectedVersion: 3 }`. They cannot replace the standard ones. */
  extensions?: Record<string, unknown>;
}

const STANDARD_MEMBERS: ReadonlySet<string> = new Set(["type", "title", "status", "detail", "instance"]);

const REASON_PHRASES: Readonly<Record<number, string>> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  412: "Precondition Failed",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  428: "Precondition Required",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/**
 * Builds an RFC 9457 problem details body. Send it with {@link sendProblem} (or with the
 * `Content-Type: application/problem+json` header yourself). A status outside 400-599 throws
 * `InvalidArgumentError`.
 *
 * @example
 * problemDetails({ status: 404, detail: "order 7 does not exist" });
 * // { type: "about:blank", title: "Not Found", status: 404, detail: "order 7 does not exist" }
 */
export function problemDetails(init: ProblemDetailsInit): ProblemDetails {
  if (!Number.isInteger(init.status) || init.status < 400 || init.status > 599) {
    throw new InvalidArgumentError(undefined, "problemDetails", `status must be an HTTP error status (400-599), got ${init.status}`);
  }
  const problem: ProblemDetails = {
    type: init.type ?? "about:blank",
    title: init.title ?? REASON_PHRASES[init.status] ?? `HTTP ${init.status}`,
    status: init.status,
  };
  if (init.detail !== undefined) problem.detail = init.detail;
  if (init.instance !== undefined) problem.instance = init.instance;
  for (const [key, value] of Object.entries(init.extensions ?? {})) if (!STANDARD_MEMBERS.has(key)) problem[key] = value;
  return problem;
}
