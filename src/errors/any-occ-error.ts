import { ConditionNotMetError } from "./condition-not-met-error";
import { PreconditionHeaderError, PreconditionRequiredError } from "./http-errors";
import { LockTimeoutError, SharedConnectionBusyError } from "./lock-errors";
import type { OccErrorCode } from "./occ-error";
import { InvalidArgumentError, TransactionRequiredError, UnguardedWriteError } from "./refused-call-errors";
import { EntityDefinitionError, MissingPeerDependencyError, TypeOrmCompatibilityError } from "./setup-errors";
import { StaleDataError } from "./stale-data-error";
import { InvalidVersionError, MissingVersionError } from "./version-errors";

/**
 * Every typeorm-occ error class as one union. `code` tells its members apart, so checking it
 * narrows: after `isOccError(error) && error.code === "stale-data"`, `error` is a `StaleDataError`.
 */
export type AnyOccError =
  | StaleDataError
  | InvalidVersionError
  | MissingVersionError
  | EntityDefinitionError
  | TypeOrmCompatibilityError
  | TransactionRequiredError
  | UnguardedWriteError
  | SharedConnectionBusyError
  | ConditionNotMetError
  | LockTimeoutError
  | InvalidArgumentError
  | MissingPeerDependencyError
  | PreconditionRequiredError
  | PreconditionHeaderError;

/** Each code's class name: a second copy of the package is recognised by the pair, not by `instanceof`. */
const NAME_OF_CODE: { readonly [C in OccErrorCode]: Extract<AnyOccError, { code: C }>["name"] } = {
  "stale-data": "StaleDataError",
  "invalid-version": "InvalidVersionError",
  "missing-version": "MissingVersionError",
  "entity-definition": "EntityDefinitionError",
  "typeorm-compatibility": "TypeOrmCompatibilityError",
  "transaction-required": "TransactionRequiredError",
  "unguarded-write": "UnguardedWriteError",
  "shared-connection-busy": "SharedConnectionBusyError",
  "condition-not-met": "ConditionNotMetError",
  "lock-timeout": "LockTimeoutError",
  "invalid-argument": "InvalidArgumentError",
  "missing-peer-dependency": "MissingPeerDependencyError",
  "precondition-required": "PreconditionRequiredError",
  "invalid-if-match": "PreconditionHeaderError",
};

/**
 * Whether `error` is a typeorm-occ error, typed as the union of all of them so that a check of
 * `code` narrows to its class. Also true for an error from a second copy of the package in one
 * application (where `instanceof` fails): its `name` and `code` are checked as a pair.
 *
 * @example
 * if (isOccError(error) && error.code === "stale-data") {
 *   console.log(error.expectedVersion, error.actualVersion);
 * }
 */
export function isOccError(error: unknown): error is AnyOccError {
  if (typeof error !== "object" || error === null) return false;
  const { name, code } = error as { name?: unknown; code?: unknown };
  return typeof code === "string" && Object.hasOwn(NAME_OF_CODE, code) && NAME_OF_CODE[code as OccErrorCode] === name;
}
