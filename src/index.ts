/**
 * typeorm-occ: optimistic concurrency control for TypeORM.
 *
 * @example
 * import { VersionColumn, StaleDataError } from "typeorm-occ";
 */
import { ensureInstalled } from "./install";

export { VersionColumn, AggregateRoot, AggregateMember, type VersionColumnOptions } from "../decorators";
export { occSchema, type OccSchemaOptions } from "./metadata/entity-schema";
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
  ConditionNotMetError,
  LockTimeoutError,
  InvalidArgumentError,
  MissingPeerDependencyError,
  isStaleDataError,
  isOccError,
  type AnyOccError,
  type OccErrorCode,
  type StaleOperation,
  type StaleDataDetails,
  type ConditionalOperation,
  type ConditionNotMetDetails,
} from "./errors";
export { parseVersion, isVersionNumber } from "./version/version-value";
export { disableOccWarning, type OccWarningCode } from "./metadata/metadata-warnings";
export { readFromPrimary } from "./replication/primary-reads";
export { uncheckedMemberWrite } from "./write-guard/unchecked-member-write";
export {
  withOptimisticRetry,
  isRetryableConflict,
  isSerializationFailure,
  isDeadlock,
  isLockWaitTimeout,
  isSqliteBusy,
  type OptimisticRetryOptions,
} from "./retry/with-optimistic-retry";

export {
  updateVersioned,
  deleteVersioned,
  type VersionedKey,
  type UpdateVersionedChanges,
  type UpdateVersionedResult,
} from "./writes/update-versioned";
export { updateIf, type UpdateIfChanges, type UpdateIfOptions, type UpdateIfResult } from "./writes/update-if";
export { increment, decrement, CalculatedChange } from "./writes/calculated-change";
export { insertOnce, type InsertOnceOptions, type InsertOnceResult, type InsertOnceValues } from "./writes/insert-once";
export { lockAggregate, type LockAggregateOptions, type PrimaryKeyInput } from "./writes/lock-aggregate";
export { withAdvisoryLock, type WithAdvisoryLockOptions } from "./writes/with-advisory-lock";
export type { LockWaitOptions } from "./writes/lock-dialect";
export type { AdvisoryLockKey } from "./writes/advisory-key";

ensureInstalled();
