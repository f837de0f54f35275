import { In } from "typeorm";
import { InvalidArgumentError, deleteVersioned, insertOnce, lockAggregate, updateIf, updateVersioned } from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { eachDriver } from "../support/each-driver";
import { Account, Ledger, Payment, Setting, writeEntities } from "../writes/support/entities";

/**
 * Issue 14, section 3: an object or an array as a primary-key value of updateVersioned /
 * deleteVersioned reached the driver: PostgreSQL failed with 22P02, SQLite with a RangeError, and
 * MariaDB matched nothing and raised a StaleDataError naming `Account#[object Object]`. Key values of
 * the wrong shape are refused with InvalidArgumentError (UnguardedWriteError before issue 17) before anything is sent, by every write
 * helper that names rows by key (updateIf's key criteria, insertOnce's conflict values, lockAggregate).
 */
eachDriver(undefined, { mariadb: true })("key values of the wrong shape on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: writeEntities });
  });
  afterAll(async () => db?.close());

  const accounts = () => db.dataSource.getRepository(Account);
  const settings = () => db.dataSource.getRepository(Setting);
  const wrong: [string, unknown][] = [
    ["an object", { id: 1 }],
    ["an empty object", {}],
    ["an array", [1]],
    ["NaN", NaN],
    ["an invalid Date", new Date("not a date")],
    ["a boolean", true],
  ];

  async function refusedBeforeSending(work: () => Promise<unknown>, operation: string): Promise<InvalidArgumentError> {
    let error: unknown;
    const statements = await db.log.capture(async () => {
      error = await work().catch((e: unknown) => e);
    });
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({ operation, code: "invalid-argument" });
    expect(statements).toEqual([]);
    return error as InvalidArgumentError;
  }

  it.each(wrong)("reproduction: updateVersioned and deleteVersioned refuse %s as the key", async (_name, value) => {
    const { id } = await accounts().save({ owner: "ada", balance: 10 });
    const error = await refusedBeforeSending(
      () => updateVersioned(accounts(), { id: value as number, version: 1 }, { balance: 0 }),
      "updateVersioned",
    );
    expect(error.message).toMatch(/the key's id must be a string, a finite number, a bigint, a Date or bytes/);
    await refusedBeforeSending(() => deleteVersioned(accounts(), { id: value as number, version: 1 }), "deleteVersioned");
    await refusedBeforeSending(
      () => updateVersioned<Setting, "name" | "version">(settings(), { name: value as string, version: 1 }, { value: "x" }),
      "updateVersioned",
    );
    expect(await accounts().findOneByOrFail({ id })).toMatchObject({ balance: 10, version: 1 });
  });

  it.each(wrong)("updateIf refuses %s as a key criterion, plain or inside an operator", async (_name, value) => {
    const { id } = await accounts().save({ owner: "ada", balance: 10 });
    await refusedBeforeSending(() => updateIf(accounts(), { id: value as number }, { balance: 0 }), "updateIf");
    await refusedBeforeSending(() => updateIf(accounts(), { id: In([id, value as number]) }, { balance: 0 }), "updateIf");
    expect(await accounts().findOneByOrFail({ id })).toMatchObject({ balance: 10, version: 1 });
  });

  it.each(wrong)("insertOnce refuses %s as a conflict value, lockAggregate as the key", async (_name, value) => {
    const payments = db.dataSource.getRepository(Payment);
    await refusedBeforeSending(
      () => insertOnce(payments, { idempotencyKey: value as string, amount: 1 }, { conflictPaths: ["idempotencyKey"] }),
      "insertOnce",
    );
    expect(await payments.count()).toBe(0);
    await db.dataSource.transaction(async (manager) => {
      await refusedBeforeSending(() => lockAggregate(manager, Ledger, { id: value }), "lockAggregate");
    });
  });

  it("still takes keys of every right shape", async () => {
    const { id } = await accounts().save({ owner: "ada", balance: 10 });
    await updateVersioned(accounts(), { id, version: 1 }, { balance: 11 });
    await updateIf(accounts(), { id: In([id]) }, { balance: 12 });
    await settings().save({ name: "theme", value: "dark" });
    await updateVersioned<Setting, "name" | "version">(settings(), { name: "theme", version: 1 }, { value: "light" });
    await deleteVersioned(accounts(), { id, version: 3 });
    expect(await accounts().countBy({ id })).toBe(0);
    expect(await settings().findOneByOrFail({ name: "theme" })).toMatchObject({ value: "light", version: 2 });
  });
});
