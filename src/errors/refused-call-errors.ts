import { OccError } from "./occ-error";

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
