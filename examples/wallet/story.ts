import type { DataSource } from "typeorm";
import { isStaleDataError, withOptimisticRetry } from "typeorm-occ";
import { depositOnce, withdraw } from "./wallet-commands";
import { InsufficientFundsError, decrease, formatMoney, increase } from "./wallet-operations";
import { Wallet } from "./wallet.entity";

/** What the story ended with, so tests can check it. */
export interface WalletStoryResult {
  walletId: number;
  /** The balance read back from the database at the end, in cents. */
  finalBalance: number;
  /** The start balance plus every change that was acknowledged as saved, in cents. */
  expectedBalance: number;
  finalVersion: number;
  /** The message of the StaleDataError Bob's first save raised. */
  staleMessage: string;
  /** How many times withOptimisticRetry ran Bob's deposit again. */
  retries: number;
  /** How many of the two racing guarded withdrawals went through. */
  racingWithdrawalsApplied: number;
  /** How many times the twice-sent deposit was applied. */
  repeatedDepositApplied: number;
}

/**
 * The lost-update story, told step by step through `log`: Alice and Bob load the same wallet,
 * Alice saves first, Bob's save is refused with StaleDataError instead of silently overwriting
 * Alice's deposit, Bob reloads and retries, and `withOptimisticRetry` does the same automatically.
 * Then two racing guarded withdrawals (`updateIf`: only one can take the money) and a deposit sent
 * twice with one idempotency key (`insertOnce`: applied once).
 *
 * @example
 * const result = await runWalletStory(dataSource, console.log);
 * assert.equal(result.finalBalance, result.expectedBalance);
 */
export async function runWalletStory(dataSource: DataSource, log: (line: string) => void): Promise<WalletStoryResult> {
  const wallets = dataSource.getRepository(Wallet);
  let acknowledged = 0;
  const show = (w: Wallet) => `${formatMoney(w.balance, w.currency)} (version ${w.version})`;

  const created = await wallets.save(wallets.create({ owner: "Alice & Bob", currency: "EUR", balance: 100_00 }));
  acknowledged += created.balance;
  log(`1. A shared wallet #${created.id} is opened with ${show(created)}.`);

  const alices = await wallets.findOneByOrFail({ id: created.id });
  const bobs = await wallets.findOneByOrFail({ id: created.id });
  log(`2. Alice loads it: ${show(alices)}. Bob loads it too: ${show(bobs)}.`);

  increase(alices, 50_00);
  await wallets.save(alices);
  acknowledged += 50_00;
  log(`3. Alice deposits ${formatMoney(50_00, "EUR")} and saves: ${show(alices)}.`);

  decrease(bobs, 30_00);
  log(`4. Bob withdraws ${formatMoney(30_00, "EUR")} from his copy, which still says version ${bobs.version}, and saves...`);
  let staleMessage: string;
  try {
    await wallets.save(bobs);
    throw new Error("Bob's stale save went through: Alice's deposit would have been lost");
  } catch (error) {
    if (!isStaleDataError(error)) throw error;
    staleMessage = error.message;
    log(`   ...refused with StaleDataError: ${error.message}`);
    log(`   (without typeorm-occ this save would have written ${formatMoney(bobs.balance, "EUR")} and erased Alice's deposit)`);
  }

  const reloaded = await wallets.findOneByOrFail({ id: created.id });
  decrease(reloaded, 30_00);
  await wallets.save(reloaded);
  acknowledged -= 30_00;
  log(`5. Bob reloads, withdraws again and saves: ${show(reloaded)}.`);

  log(`6. Bob deposits ${formatMoney(20_00, "EUR")} with withOptimisticRetry, which reloads and retries on conflict:`);
  let retries = 0;
  await withOptimisticRetry(
    async (attempt) => {
      const wallet = await wallets.findOneByOrFail({ id: created.id });
      log(`   attempt ${attempt + 1}: Bob loads ${show(wallet)}`);
      increase(wallet, 20_00);
      if (attempt === 0) {
        // Alice is quicker once more: she saves between Bob's load and Bob's save.
        const alicesAgain = await wallets.findOneByOrFail({ id: created.id });
        increase(alicesAgain, 5_00);
        await wallets.save(alicesAgain);
        acknowledged += 5_00;
        log(`   meanwhile Alice deposits ${formatMoney(5_00, "EUR")}: ${show(alicesAgain)}`);
      }
      await wallets.save(wallet);
      acknowledged += 20_00;
      log(`   attempt ${attempt + 1} saved: ${show(wallet)}`);
    },
    {
      onRetry: (error, attempt) => {
        retries = attempt;
        log(`   conflict (${error instanceof Error ? error.message : String(error)}), retrying`);
      },
    },
  );

  log(`7. Bob tries to withdraw ${formatMoney(1_000_00, "EUR")}; withOptimisticRetry does not retry domain errors:`);
  try {
    await withOptimisticRetry(async () => {
      const wallet = await wallets.findOneByOrFail({ id: created.id });
      decrease(wallet, 1_000_00);
      await wallets.save(wallet);
    });
  } catch (error) {
    if (!(error instanceof InsufficientFundsError)) throw error;
    log(`   refused at once: ${error.message}`);
  }

  log(
    `8. Alice and Bob each withdraw ${formatMoney(100_00, "EUR")} at the same moment, with a guarded withdrawal (one conditional UPDATE):`,
  );
  const racing = await Promise.allSettled([withdraw(dataSource, created.id, 100_00), withdraw(dataSource, created.id, 100_00)]);
  let racingWithdrawalsApplied = 0;
  for (const [i, outcome] of racing.entries()) {
    const who = i === 0 ? "Alice" : "Bob";
    if (outcome.status === "fulfilled") {
      racingWithdrawalsApplied++;
      acknowledged -= 100_00;
      log(`   ${who}'s withdrawal went through`);
    } else if (outcome.reason instanceof InsufficientFundsError) {
      log(`   ${who}'s withdrawal was refused by the database: ${outcome.reason.message}`);
    } else {
      throw outcome.reason;
    }
  }
  log(`   balance now ${show(await wallets.findOneByOrFail({ id: created.id }))}: the money could only be taken once`);

  log(`9. Bob deposits ${formatMoney(20_00, "EUR")}; his app times out and sends the same request (idempotency key) again:`);
  let repeatedDepositApplied = 0;
  for (const attempt of ["first", "repeated"]) {
    const { applied, deposit } = await depositOnce(dataSource, created.id, 20_00, `deposit-${created.id}-1`);
    if (applied) {
      repeatedDepositApplied++;
      acknowledged += 20_00;
    }
    log(`   ${attempt} request: ${applied ? "applied" : "already recorded, nothing changed"} (deposit #${deposit.id})`);
  }

  const final = await wallets.findOneByOrFail({ id: created.id });
  const verdict = final.balance === acknowledged ? "nothing was lost" : "MONEY WAS LOST";
  log(`10. Final balance ${show(final)}; acknowledged changes add up to ${formatMoney(acknowledged, final.currency)}: ${verdict}.`);
  return {
    walletId: final.id,
    finalBalance: final.balance,
    expectedBalance: acknowledged,
    finalVersion: final.version,
    staleMessage,
    retries,
    racingWithdrawalsApplied,
    repeatedDepositApplied,
  };
}
