/**
 * typeorm-occ: optimistic concurrency control for TypeORM.
 *
 * @example
 * import { VersionColumn, StaleDataError } from "typeorm-occ";
 */
import { ensureInstalled } from "./install";

export { VersionColumn, AggregateRoot, AggregateMember, type VersionColumnOptions } from "../decorators";
export { occSchema, type OccSchemaOptions } from "./entity-schema";
export {
  OccError,
  StaleDataError,
  InvalidVersionError,
  MissingVersionError,
  EntityDefinitionError,
  TypeOrmCompatibilityError,
  TransactionRequiredError,
  UnguardedWriteError,
  SharedConnectionBusyError,
  isStaleDataError,
  type StaleOperation,
  type StaleDataDetails,
} from "./errors";
export { parseVersion, isVersionNumber } from "./version-value";
export { uncheckedMemberWrite } from "./unchecked-member-write";
export {
  withOptimisticRetry,
  isRetryableConflict,
  isSerializationFailure,
  isDeadlock,
  isSqliteBusy,
  type OptimisticRetryOptions,
} from "./retry";

ensureInstalled();
