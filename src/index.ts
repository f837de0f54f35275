/**
 * typeorm-occ: optimistic concurrency control for TypeORM.
 *
 * @example
 * import { VersionColumn, StaleDataError } from "typeorm-occ";
 */
import { ensureInstalled } from "./install";

export { VersionColumn, AggregateRoot, AggregateMember, type VersionColumnOptions } from "../decorators";
export {
  OccError,
  StaleDataError,
  InvalidVersionError,
  MissingVersionError,
  EntityDefinitionError,
  TypeOrmCompatibilityError,
  TransactionRequiredError,
  UnguardedWriteError,
  isStaleDataError,
  type StaleOperation,
  type StaleDataDetails,
} from "./errors";
export { parseVersion, isVersionNumber } from "./version-value";
export {
  withOptimisticRetry,
  isRetryableConflict,
  isSerializationFailure,
  isDeadlock,
  isLockWaitTimeout,
  isSqliteBusy,
  type OptimisticRetryOptions,
} from "./retry";

ensureInstalled();
