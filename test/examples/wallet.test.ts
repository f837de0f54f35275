import { ConditionNotMetError } from "typeorm-occ";
import { walletEntities } from "../../examples/wallet/data-source";
import { Deposit } from "../../examples/wallet/deposit.entity";
import { runWalletStory } from "../../examples/wallet/story";
import { IdempotencyKeyReusedError, depositOnce, withdraw } from "../../examples/wallet/wallet-commands";
import { InsufficientFundsError, decrease, increase } from "../../examples/wallet/wallet-operations";
import { Wallet } from "../../examples/wallet/wallet.entity";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { enabledDrivers } from "../support/drivers";

describe.each(enabledDrivers({ mariadb: true }))("wallet example on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: walletEntities });
  });
  afterAll(async () => db?.close());

  it("tells the lost-update story and loses nothing", async () => {
    const lines: string[] = [];
    const result = await runWalletStory(db.dataSource, (line) => lines.push(line));

    expect(result.staleMessage).toBe(`Wallet#${result.walletId} is stale: expected version 1, found 2 (update)`);
    expect(result.retries).toBe(1);
    expect(result.racingWithdrawalsApplied).toBe(1);
    expect(result.repeatedDepositApplied).toBe(1);
    expect(result.finalBalance).toBe(65_00); // 145 − one of the two racing 100s + 20 once
    expect(result.expectedBalance).toBe(65_00);
    expect(result.finalVersion).toBe(7);
    expect(lines.join("\n")).toContain("refused with StaleDataError");
    expect(lines.join("\n")).toContain("withdrawal was refused by the database");
    expect(lines.join("\n")).toContain("already recorded, nothing changed");
    expect(lines.at(-1)).toContain("nothing was lost");
    const stored = await db.dataSource.getRepository(Wallet).findOneByOrFail({ id: result.walletId });
    expect(stored).toMatchObject({ balance: 65_00, version: 7 });
  });

  const newWallet = (balance: number) => db.dataSource.getRepository(Wallet).save({ owner: "t", currency: "EUR", balance });
  const balanceOf = async (id: number) => (await db.dataSource.getRepository(Wallet).findOneByOrFail({ id })).balance;

  it("guarded withdrawal: of 10 concurrent withdrawals of 100 from 250 exactly two go through", async () => {
    const { id } = await newWallet(250);
    const outcomes = await Promise.allSettled(Array.from({ length: 10 }, () => withdraw(db.dataSource, id, 100)));
    expect(outcomes.filter((outcome) => outcome.status === "fulfilled")).toHaveLength(2);
    for (const outcome of outcomes) {
      if (outcome.status === "rejected") expect(outcome.reason).toBeInstanceOf(InsufficientFundsError);
    }
    expect(await balanceOf(id)).toBe(50);
  });

  it("guarded withdrawal: refuses an overdraft with the domain error, and a missing wallet with ConditionNotMetError", async () => {
    const { id } = await newWallet(30);
    await expect(withdraw(db.dataSource, id, 31)).rejects.toMatchObject({ name: "InsufficientFundsError", balance: 30, requested: 31 });
    await expect(withdraw(db.dataSource, 987654, 1)).rejects.toBeInstanceOf(ConditionNotMetError);
    expect(await balanceOf(id)).toBe(30);
  });

  it("idempotent deposit: a key applied once, whether repeated or sent concurrently", async () => {
    const { id } = await newWallet(0);
    expect((await depositOnce(db.dataSource, id, 500, "k-1")).applied).toBe(true);
    expect((await depositOnce(db.dataSource, id, 500, "k-1")).applied).toBe(false);
    const racing = await Promise.all(Array.from({ length: 10 }, () => depositOnce(db.dataSource, id, 70, "k-2")));
    expect(racing.filter((outcome) => outcome.applied)).toHaveLength(1);
    expect(new Set(racing.map((outcome) => outcome.deposit.id)).size).toBe(1);
    expect(await balanceOf(id)).toBe(570);
    expect(await db.dataSource.getRepository(Deposit).countBy({ walletId: id })).toBe(2);
  });

  it("idempotent deposit: a reused key with another amount is refused, and a missing wallet records nothing", async () => {
    const { id } = await newWallet(0);
    await depositOnce(db.dataSource, id, 100, "k-3");
    await expect(depositOnce(db.dataSource, id, 200, "k-3")).rejects.toBeInstanceOf(IdempotencyKeyReusedError);
    await expect(depositOnce(db.dataSource, 987654, 100, "k-4")).rejects.toBeInstanceOf(ConditionNotMetError);
    expect(await db.dataSource.getRepository(Deposit).countBy({ idempotencyKey: "k-4" })).toBe(0);
    expect(await balanceOf(id)).toBe(100);
  });
});

describe("wallet operations", () => {
  const wallet = () => Object.assign(new Wallet(), { id: 7, owner: "x", currency: "EUR", balance: 10_00, version: 1 });

  it("increases and decreases in whole cents", () => {
    expect(decrease(increase(wallet(), 5_00), 15_00).balance).toBe(0);
  });

  it("refuses to go negative with a typed domain error, leaving the balance alone", () => {
    const w = wallet();
    expect(() => decrease(w, 10_01)).toThrow(InsufficientFundsError);
    expect(w.balance).toBe(10_00);
  });

  it.each([0, -1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1])("rejects amount %p", (amount) => {
    expect(() => increase(wallet(), amount)).toThrow(RangeError);
    expect(() => decrease(wallet(), amount)).toThrow(RangeError);
  });
});
