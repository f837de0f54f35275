/** Every error typeorm-occ throws, one module per family; importers use `../errors`. */
export { OccError, type OccErrorCode } from "./occ-error";
export { StaleDataError, isStaleDataError, type StaleDataDetails, type StaleOperation } from "./stale-data-error";
export { InvalidVersionError, MissingVersionError } from "./version-errors";
export { EntityDefinitionError, TypeOrmCompatibilityError, MissingPeerDependencyError } from "./setup-errors";
export { TransactionRequiredError, UnguardedWriteError, InvalidArgumentError } from "./refused-call-errors";
export { ConditionNotMetError, type ConditionalOperation, type ConditionNotMetDetails } from "./condition-not-met-error";
export { LockTimeoutError, SharedConnectionBusyError } from "./lock-errors";
export { PreconditionRequiredError, PreconditionHeaderError } from "./http-errors";
export { isOccError, type AnyOccError } from "./any-occ-error";
export { formatPrimaryKey, looksLikeEtag } from "./format";
