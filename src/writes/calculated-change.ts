/**
 * A change computed by the database from the column's current value and an amount bound as a
 * parameter: `SET balance = balance - $1`. Created by {@link increment} and {@link decrement};
 * `updateIf` checks the amount and turns it into SQL.
 */
export class CalculatedChange {
  /** @internal use {@link increment} or {@link decrement} */
  constructor(
    readonly operator: "+" | "-",
    readonly amount: unknown,
  ) {}
}

/**
 * Adds `amount` to the column's current value in the database (`SET n = n + :amount`), with the
 * amount bound as a parameter: no SQL to write, nothing read first. `amount` must be a finite
 * number ≥ 0 (a safe integer for integer columns); `updateIf` refuses anything else before sending.
 *
 * @example
 * await updateIf(wallets, { id }, { balance: increment(50_00) });
 */
export function increment(amount: number): CalculatedChange {
  return new CalculatedChange("+", amount);
}

/**
 * Subtracts `amount` from the column's current value in the database (`SET n = n - :amount`).
 * Pair it with a condition in `where` to keep the value from going below a bound.
 *
 * @example
 * await updateIf(wallets, { id, balance: MoreThanOrEqual(100) }, { balance: decrement(100) });
 */
export function decrement(amount: number): CalculatedChange {
  return new CalculatedChange("-", amount);
}
