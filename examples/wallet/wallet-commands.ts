import { MoreThanOrEqual, type DataSource } from "typeorm";
import { ConditionNotMetError, decrement, increment, insertOnce, updateIf } from "typeorm-occ";
import { Deposit } from "./deposit.entity";
import { assertAmount, InsufficientFundsError } from "./wallet-operations";
import { Wallet } from "./wallet.entity";

/**
 * A key sent again with another wallet or amount: a client bug, never a retry. Refused rather than
 * answered with the first request's outcome.
 */
export class IdempotencyKeyReusedError extends Error {
  constructor(readonly idempotencyKey: string) {
    super(`idempotency key ${JSON.stringify(idempotencyKey)} was already used for a different deposit`);
    this.name = "IdempotencyKeyReusedError";
  }
}

/**
 * The guarded withdrawal: one `UPDATE wallet SET balance = balance - :cents, version = version + 1
 * WHERE id = :id AND balance >= :cents`. The database checks and subtracts in one step, so two
 * withdrawals racing for the same money cannot both pass; nothing is read first and nothing needs
 * retrying. Refused with {@link InsufficientFundsError} when the balance is too small.
 *
 * @example
 * await withdraw(dataSource, walletId, 100_00);
 */
export async function withdraw(dataSource: DataSource, walletId: number, cents: number): Promise<void> {
  assertAmount(cents);
  const wallets = dataSource.getRepository(Wallet);
  try {
    await updateIf(wallets, { id: walletId, balance: MoreThanOrEqual(cents) }, { balance: decrement(cents) });
  } catch (error) {
    if (!(error instanceof ConditionNotMetError) || !error.rowExists) throw error;
    // Read only on this failure path, for the message.
    const { balance } = await wallets.findOneByOrFail({ id: walletId });
    throw new InsufficientFundsError(walletId, balance, cents);
  }
}

/** What a deposit request ended with. */
export interface DepositOutcome {
  deposit: Deposit;
  /** `false` when this key had been deposited before: the wallet was left alone. */
  applied: boolean;
}

/**
 * The idempotent deposit: records the deposit under the client's idempotency key and credits the
 * wallet, in one transaction; the same request sent again (a retry after a timeout) finds the
 * recorded deposit and changes nothing. Concurrent repeats are safe too: only one of them inserts.
 *
 * @example
 * const { applied } = await depositOnce(dataSource, walletId, 20_00, req.header("Idempotency-Key")!);
 */
export async function depositOnce(
  dataSource: DataSource,
  walletId: number,
  cents: number,
  idempotencyKey: string,
): Promise<DepositOutcome> {
  assertAmount(cents);
  return dataSource.transaction(async (manager) => {
    const { entity: deposit, created } = await insertOnce(
      manager.getRepository(Deposit),
      { idempotencyKey, walletId, cents },
      { conflictPaths: ["idempotencyKey"] },
    );
    if (!created) {
      if (deposit.walletId !== walletId || deposit.cents !== cents) throw new IdempotencyKeyReusedError(idempotencyKey);
      return { deposit, applied: false };
    }
    await updateIf(manager.getRepository(Wallet), { id: walletId }, { balance: increment(cents) });
    return { deposit, applied: true };
  });
}
