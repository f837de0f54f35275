import type { Wallet } from "./wallet.entity";

/**
 * A domain rule said no: the wallet does not hold enough money. Not a concurrency problem, so
 * `withOptimisticRetry` does not retry it.
 */
export class InsufficientFundsError extends Error {
  constructor(
    readonly walletId: number,
    readonly balance: number,
    readonly requested: number,
  ) {
    super(`wallet #${walletId} holds ${balance} cents, cannot take ${requested}`);
    this.name = "InsufficientFundsError";
  }
}

/** Amounts are positive whole cents; anything else is a programming error. */
export function assertAmount(amount: number): void {
  if (!Number.isSafeInteger(amount) || amount <= 0) {
    throw new RangeError(`amount must be a positive whole number of cents, got ${amount}`);
  }
}

/**
 * Adds money to a loaded wallet (in memory; save it afterwards).
 *
 * @example
 * increase(wallet, 50_00); // +50.00
 * await wallets.save(wallet);
 */
export function increase(wallet: Wallet, cents: number): Wallet {
  assertAmount(cents);
  wallet.balance += cents;
  return wallet;
}

/**
 * Takes money from a loaded wallet (in memory; save it afterwards). Refuses to go below zero with
 * {@link InsufficientFundsError}.
 *
 * @example
 * decrease(wallet, 30_00); // -30.00, or InsufficientFundsError
 * await wallets.save(wallet);
 */
export function decrease(wallet: Wallet, cents: number): Wallet {
  assertAmount(cents);
  if (wallet.balance < cents) throw new InsufficientFundsError(wallet.id, wallet.balance, cents);
  wallet.balance -= cents;
  return wallet;
}

/**
 * Formats cents for people.
 *
 * @example
 * formatMoney(15000, "EUR"); // "€150.00"
 */
export function formatMoney(cents: number, currency: string): string {
  return new Intl.NumberFormat("en", { style: "currency", currency }).format(cents / 100);
}
