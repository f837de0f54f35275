import { OccError } from "./occ-error";

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
