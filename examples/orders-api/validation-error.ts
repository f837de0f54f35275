/** One thing wrong with a request body. `field` is a JSON path such as `lines[2].quantity`. */
export interface FieldProblem {
  field: string;
  message: string;
}

/**
 * The request body is well-formed JSON but does not describe a valid change: answered with 422
 * and the list of problems.
 *
 * @example
 * throw new ValidationError([{ field: "customer", message: "must be a non-empty string" }]);
 */
export class ValidationError extends Error {
  constructor(readonly problems: FieldProblem[]) {
    super(`invalid request body: ${problems.map((p) => `${p.field} ${p.message}`).join("; ")}`);
    this.name = "ValidationError";
  }
}
