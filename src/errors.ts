/**
 * The stable `code` of every typeorm-occ error: the same string an HTTP problem body from
 * `typeorm-occ/http` carries. Unlike a message, a code never changes once released; switch on it
 * where `instanceof` is not at hand (logs, JSON, two copies of the package).
 *
 * @example
 * if (error instanceof OccError && error.code === "stale-data") return reply.status(409).send();
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

/** Which write found the row changed or gone. */
export type StaleOperation = "update" | "delete" | "soft-delete" | "restore";

export interface StaleDataDetails {
  entityName: string;
  primaryKey: Record<string, unknown>;
  /**
   * The version the writer's copy carried; `null` when it carried none and only needed the row to
   * exist (a member added to its root by the root's key alone, under a parent named by key).
   */
  expectedVersion: number | null;
  /** The row's version when it could be read after the failed write; `null` when the row is gone. */
  actualVersion: number | null;
  operation: StaleOperation;
  entity: object | undefined;
  /**
   * The version the copy's data was read at, when the copy claimed a newer one (an `If-Match`
   * newer than the read, a copy from a lagging replica or a cache): found before anything was sent.
   */
  readVersion?: number;
  /** Why the copy is stale when the database alone would not have said so (see docs/how-saves-are-checked.md, "Copies and what they were read at"). */
  reason?: string;
}

/**
 * A version-checked UPDATE or DELETE matched no row: somebody else changed (or removed) the row
 * since it was read. The surrounding transaction is rolled back; reload and retry, or report a
 * conflict (HTTP 409/412).
 *
 * @example
 * try {
 *   await orders.save(order);
 * } catch (error) {
 *   if (error instanceof StaleDataError) return reply.status(409).send(error.message);
 *   throw error;
 * }
 */
export class StaleDataError extends OccError implements StaleDataDetails {
  override readonly name = "StaleDataError";
  readonly code = "stale-data";
  readonly entityName: string;
  readonly primaryKey: Record<string, unknown>;
  readonly expectedVersion: number | null;
  readonly actualVersion: number | null;
  readonly operation: StaleOperation;
  readonly entity: object | undefined;
  readonly readVersion: number | undefined;
  readonly reason: string | undefined;

  constructor(details: StaleDataDetails) {
    super(StaleDataError.describe(details));
    this.entityName = details.entityName;
    this.primaryKey = details.primaryKey;
    this.expectedVersion = details.expectedVersion;
    this.actualVersion = details.actualVersion;
    this.operation = details.operation;
    this.entity = details.entity;
    this.readVersion = details.readVersion;
    this.reason = details.reason;
  }

  private static describe(d: StaleDataDetails): string {
    const found = d.actualVersion === null ? "row no longer exists" : `found ${d.actualVersion}`;
    const expected = d.expectedVersion === null ? "expected the row to exist" : `expected version ${d.expectedVersion}`;
    // Versions only grow while a row lives: a lower one on the primary means it is not the row the version came from.
    const lower =
      d.actualVersion !== null && d.expectedVersion !== null && d.actualVersion < d.expectedVersion
        ? `; the row holds a lower version than expected: it was deleted and inserted again, or version ${d.expectedVersion} never came from this row`
        : "";
    const why = d.reason ? `: ${d.reason}` : "";
    return `${d.entityName}#${formatPrimaryKey(d.primaryKey)} is stale: ${expected}, ${found} (${d.operation})${lower}${why}`;
  }
}

/** A version value that is not a safe, non-negative integer (a string from HTTP, `1.5`, `NaN`, `-1`, …). */
export class InvalidVersionError extends OccError {
  override readonly name = "InvalidVersionError";
  readonly code = "invalid-version";
  /** `reason`: what else the value violates, when it is a safe non-negative integer (e.g. the column's range). */
  constructor(
    readonly entityName: string,
    readonly propertyName: string,
    readonly value: unknown,
    reason?: string,
  ) {
    super(
      reason
        ? `${entityName}.${propertyName} cannot be ${describeValue(value)}: ${reason}`
        : `${entityName}.${propertyName} must be a safe non-negative integer, got ${describeValue(value)}${conversionHint(value)}`,
    );
  }
}

/**
 * An existing row was saved or removed without a version, or `updateVersioned` / `deleteVersioned`
 * was given a key without one: the write could not be checked, and an unchecked overwrite is
 * exactly the lost update this library prevents.
 */
export class MissingVersionError extends OccError {
  override readonly name = "MissingVersionError";
  readonly code = "missing-version";
  /** `problem`: where the version was missing and what to pass, when it was not a save or remove of an entity. */
  constructor(
    readonly entityName: string,
    readonly propertyName: string,
    readonly primaryKey: Record<string, unknown>,
    problem?: string,
  ) {
    super(
      problem === undefined
        ? `${entityName}#${formatPrimaryKey(primaryKey)} has no ${propertyName}: load the row or pass the version the client read before saving or removing it`
        : `${entityName}#${formatPrimaryKey(primaryKey)}: ${problem}`,
    );
  }
}

/** An entity class is declared in a way typeorm-occ cannot guard (raised when the DataSource builds its metadata). */
export class EntityDefinitionError extends OccError {
  override readonly name = "EntityDefinitionError";
  readonly code = "entity-definition";
  constructor(
    readonly entityName: string,
    problem: string,
    options?: { cause?: unknown },
  ) {
    super(`${entityName}: ${problem}`, options);
  }
}

/** The installed TypeORM no longer has the internal shape typeorm-occ was built against. */
export class TypeOrmCompatibilityError extends OccError {
  override readonly name = "TypeOrmCompatibilityError";
  readonly code = "typeorm-compatibility";
}

/**
 * A write that must be atomic was asked to run without a transaction, where a failure halfway
 * would leave part of it written (or a lock that ends with its statement would protect nothing).
 * Nothing was sent; the message says what to do instead.
 */
export class TransactionRequiredError extends OccError {
  override readonly name = "TransactionRequiredError";
  readonly code = "transaction-required";
  constructor(
    readonly entityName: string,
    problem: string,
  ) {
    super(`${entityName}: ${problem}`);
  }
}

/**
 * A write that typeorm-occ cannot guard was refused before it was sent: it would set a version
 * by hand, bypass an aggregate root's version, or overwrite a row from a read nothing checks.
 * The message says which safe path to take instead.
 */
export class UnguardedWriteError extends OccError {
  override readonly name = "UnguardedWriteError";
  readonly code = "unguarded-write";
  constructor(
    readonly entityName: string,
    readonly operation: string,
    problem: string,
  ) {
    super(`${entityName}: ${operation} refused: ${problem}`);
  }
}

/**
 * A call of the library was given arguments it cannot use: a key without its primary key, options
 * of the wrong type or out of range, a property the entity does not have, a value of the wrong
 * shape. A programming error, found before anything was sent; the message names the argument and
 * the form it takes.
 *
 * @example
 * await updateIf(wallets, {}, { balance: 0 }); // InvalidArgumentError: where is empty: it would update every row
 */
export class InvalidArgumentError extends OccError {
  override readonly name = "InvalidArgumentError";
  readonly code = "invalid-argument";

  constructor(
    /** The entity (or lock) the call was about, when there is one. */
    readonly entityName: string | undefined,
    /** The library function that was called, e.g. `updateVersioned`. */
    readonly operation: string,
    problem: string,
  ) {
    super(entityName === undefined ? `${operation}: ${problem}` : `${entityName}: ${operation}: ${problem}`);
  }
}

/**
 * A part of typeorm-occ needs a package the application has not installed, e.g. `typeorm-occ/nest`
 * without `@nestjs/common`. The message names the command that installs what is missing.
 */
export class MissingPeerDependencyError extends OccError {
  override readonly name = "MissingPeerDependencyError";
  readonly code = "missing-peer-dependency";

  constructor(
    /** The entry point that was loaded, e.g. `typeorm-occ/nest`. */
    readonly entryPoint: string,
    /** The packages it needs that could not be loaded. */
    readonly packages: readonly string[],
    /** `install`: what the message's `npm install` line names, when not the bare package names (e.g. `@nestjs/common@11`). */
    options?: { cause?: unknown; install?: readonly string[] },
  ) {
    super(
      `${entryPoint} needs ${packages.join(", ")}, which ${packages.length === 1 ? "is" : "are"} not installed: npm install ${(options?.install ?? packages).join(" ")}`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
  }
}

/** Which conditional write matched the wrong number of rows. */
export type ConditionalOperation = "updateIf" | "insertOnce";

export interface ConditionNotMetDetails {
  entityName: string;
  operation: ConditionalOperation;
  /** The `where` the caller passed (find-where syntax, operators included), as given. */
  criteria: Readonly<Record<string, unknown>>;
  /** Rows the statement matched (0 unless `expectedRows` asked for an exact count). */
  matchedRows: number;
  /** The exact count asked for with `expectedRows`; `undefined` means "at least one". */
  expectedRows: number | undefined;
  /**
   * Whether a row matching the criteria's identifying part exists (the primary key when the
   * criteria hold all of it, otherwise their plain-value fields), read only on this failure path;
   * `null` when the criteria have no plain-value field to look a row up by.
   */
  rowExists: boolean | null;
}

/**
 * A conditional write matched a different number of rows than required: for `updateIf`, no row
 * (or not exactly `expectedRows`) satisfied its `where`, e.g. a withdrawal from a balance that is
 * too small. Nothing was written. `rowExists` tells "the condition is false" apart from "there is
 * no such row".
 *
 * @example
 * try {
 *   await updateIf(wallets, { id, balance: MoreThanOrEqual(100) }, { balance: decrement(100) });
 * } catch (error) {
 *   if (error instanceof ConditionNotMetError && error.rowExists) return reply.status(409).send("insufficient funds");
 *   throw error;
 * }
 */
export class ConditionNotMetError extends OccError implements ConditionNotMetDetails {
  override readonly name = "ConditionNotMetError";
  readonly code = "condition-not-met";
  readonly entityName: string;
  readonly operation: ConditionalOperation;
  readonly criteria: Readonly<Record<string, unknown>>;
  readonly matchedRows: number;
  readonly expectedRows: number | undefined;
  readonly rowExists: boolean | null;

  constructor(details: ConditionNotMetDetails) {
    super(ConditionNotMetError.describe(details));
    this.entityName = details.entityName;
    this.operation = details.operation;
    this.criteria = details.criteria;
    this.matchedRows = details.matchedRows;
    this.expectedRows = details.expectedRows;
    this.rowExists = details.rowExists;
  }

  private static describe(d: ConditionNotMetDetails): string {
    const expected = d.expectedRows === undefined ? "at least 1" : `exactly ${d.expectedRows}`;
    const exists = d.rowExists === null ? "" : d.rowExists ? "; the row exists" : "; no such row";
    return `${d.entityName}: ${d.operation} condition not met: ${d.matchedRows} rows matched ${describeCriteria(d.criteria)}, expected ${expected}${exists}`;
  }
}

/**
 * A row lock or advisory lock was not granted in time: another transaction holds it and
 * `nowait` or `timeoutMs` (or the database's own lock wait limit) said not to wait longer. Nothing
 * was locked; on PostgreSQL the transaction can no longer be used, so let it roll back and try
 * again later.
 *
 * @example
 * await dataSource.transaction(async (manager) => {
 *   const order = await lockAggregate(manager, Order, 7, { timeoutMs: 500 }); // LockTimeoutError after 0.5 s
 * });
 */
export class LockTimeoutError extends OccError {
  override readonly name = "LockTimeoutError";
  readonly code = "lock-timeout";
  constructor(
    /** What was being locked, e.g. `Order#7` or `advisory lock "cart:ada"`. */
    readonly lockName: string,
    /** The wait allowed in milliseconds; 0 for `nowait`; `null` when the database's own limit ran out. */
    readonly timeoutMs: number | null,
    options?: { cause?: unknown },
  ) {
    const wait = timeoutMs === null ? "within the database's lock wait limit" : timeoutMs === 0 ? "(nowait)" : `within ${timeoutMs} ms`;
    super(`${lockName}: lock not acquired ${wait}: another transaction holds it`, options);
  }
}

/**
 * On a DataSource whose driver shares one connection (SQLite), a write waited longer than the
 * DataSource's `timeout` for another transaction on that connection to end — the in-process twin
 * of SQLite's own "database is locked". Typically a write started outside a transaction and
 * awaited inside one: pass that transaction's manager to it instead. `isSqliteBusy()` and
 * retries treat it like SQLite's own `SQLITE_BUSY`. Nothing of the waiting write was sent.
 */
export class SharedConnectionBusyError extends OccError {
  override readonly name = "SharedConnectionBusyError";
  readonly code = "shared-connection-busy";

  constructor(readonly timeoutMs: number) {
    super(
      `waited ${timeoutMs} ms for another transaction on this DataSource's single SQLite connection to end; ` +
        "a write awaited inside a transaction must use that transaction's manager (or run after it), and long transactions hold every other writer back",
    );
  }
}

/**
 * `instanceof` fails when an application ends up with two copies of typeorm-occ; this guard checks
 * the error's shape instead.
 */
export function isStaleDataError(error: unknown): error is StaleDataError {
  if (error instanceof StaleDataError) return true;
  if (typeof error !== "object" || error === null) return false;
  const candidate = error as Partial<StaleDataError>;
  return (
    candidate.name === "StaleDataError" &&
    typeof candidate.entityName === "string" &&
    (typeof candidate.expectedVersion === "number" || candidate.expectedVersion === null)
  );
}

export function formatPrimaryKey(primaryKey: Record<string, unknown>): string {
  const values = Object.values(primaryKey);
  if (values.length === 1) return String(values[0]);
  return `(${Object.entries(primaryKey)
    .map(([key, value]) => `${key}=${String(value)}`)
    .join(", ")})`;
}

/** `{ id: 7, balance: moreThanOrEqual(100) }`: find-where criteria for a message. */
function describeCriteria(criteria: Readonly<Record<string, unknown>>): string {
  const describe = (value: unknown): string => {
    if (value instanceof Date) return value.toISOString();
    if (typeof value === "object" && value !== null) {
      const operator = value as { "@instanceof"?: unknown; type?: unknown; value?: unknown };
      if (operator["@instanceof"] === Symbol.for("FindOperator")) return `${String(operator.type)}(${describe(operator.value)})`;
      if (Array.isArray(value)) return `[${value.map(describe).join(", ")}]`;
      return `{ ${Object.entries(value)
        .map(([key, inner]) => `${key}: ${describe(inner)}`)
        .join(", ")} }`;
    }
    return typeof value === "string" ? JSON.stringify(value) : String(value);
  };
  return `where ${describe(criteria)}`;
}

/**
 * Whether a string is an `If-Match` header value (an ETag, strong or weak) rather than a bare
 * version: such a value is read with `parseIfMatch()`, not `parseVersion()`.
 */
export function looksLikeEtag(value: string): boolean {
  return /^\s*(W\/)?"/.test(value);
}

/** What to do with a string where a version number belongs: it came from outside, unconverted. */
function conversionHint(value: unknown): string {
  if (typeof value !== "string") return "";
  if (looksLikeEtag(value)) return ' (an If-Match value: read it with parseIfMatch() from "typeorm-occ/http")';
  return " (convert request input with parseVersion() first)";
}

function describeValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "bigint" || value === null || value === undefined) return String(value);
  return Object.prototype.toString.call(value);
}
