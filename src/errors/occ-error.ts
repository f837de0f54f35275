/**
 * The stable `code` of every typeorm-occ error: the same string an HTTP problem body from
 * `typeorm-occ/http` carries. Unlike a message, a code never changes once released; switch on it
 * where `instanceof` is not at hand (logs, JSON, two copies of the package).
 *
 * @example
 * if (isOccError(error) && error.code === "stale-data") return reply.status(409).send(); // error: StaleDataError
 */
export type OccErrorCode =
  | "stale-data"
  | "invalid-version"
  | "missing-version"
  | "entity-definition"
  | "typeorm-compatibility"
  | "transaction-required"
  | "unguarded-write"
  | "shared-connection-busy"
  | "condition-not-met"
  | "lock-timeout"
  | "invalid-argument"
  | "missing-peer-dependency"
  | "precondition-required"
  | "invalid-if-match";

/**
 * Every error typeorm-occ throws is an {@link OccError}, so one `instanceof` catches them all.
 * Each subclass has a literal `name` (its class name, written out so that minifiers cannot change
 * it) and a stable {@link OccErrorCode} `code`; both survive JSON logging and duplicated copies of
 * the package (see {@link isStaleDataError}).
 */
export abstract class OccError extends Error {
  abstract override readonly name: string;
  abstract readonly code: OccErrorCode;
}
