import { MoreThanOrEqual } from "typeorm";
import { decrement, increment, updateIf } from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { eachDriver } from "../support/each-driver";
import { Account, PlainAccount, writeEntities } from "./support/entities";

/**
 * Issue 16: updateIf built its UPDATE through TypeORM's update builder on every call. Equality
 * conditions on the entity's own columns now use one text per entity and shape; other shapes still
 * go through the builder. Both must write exactly the same.
 */
eachDriver(undefined, { mariadb: true })("updateIf's statement on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: writeEntities });
  });
  afterAll(async () => db?.close());

  const accounts = () => db.dataSource.getRepository(Account);
  const newAccount = (balance = 100) => accounts().save(accounts().create({ owner: "ada", balance }));

  it("sends one UPDATE whose text is the same for every call of one shape, with the values bound", async () => {
    const [a, b] = [await newAccount(), await newAccount(500)];
    const first = await db.log.capture(() => updateIf(accounts(), { id: a.id }, { balance: increment(5) }));
    const second = await db.log.capture(() => updateIf(accounts(), { id: b.id }, { balance: increment(7) }));
    expect(first).toHaveLength(1);
    // SQLite's driver writes numbers into the text (TypeORM's builder does too): compare the rest.
    const masked = (statements: string[]) => statements.map((sql) => sql.replace(/\d+/g, "N"));
    expect(masked(second)).toEqual(masked(first));
    expect(first[0]).toMatch(/^UPDATE .* SET .*balance.* = .*balance.* \+ .*version.* = .*version.* \+ 1 WHERE .*id.* = /);
    expect(await accounts().findOneByOrFail({ id: a.id })).toMatchObject({ balance: 105, version: 2 });
    expect(await accounts().findOneByOrFail({ id: b.id })).toMatchObject({ balance: 507, version: 2 });
  });

  it("checks several equalities and sets values and raw SQL beside calculated changes", async () => {
    const account = await newAccount();
    expect(
      await updateIf(
        accounts(),
        { id: account.id, owner: "ada", version: 1 },
        { balance: decrement(30), owner: "grace", currency: () => "'USD'" },
      ),
    ).toEqual({ affected: 1 });
    await expect(updateIf(accounts(), { id: account.id, owner: "ada" }, { balance: decrement(1) })).rejects.toMatchObject({
      name: "ConditionNotMetError",
      rowExists: true,
    });
    expect(await accounts().findOneByOrFail({ id: account.id })).toMatchObject({
      balance: 70,
      owner: "grace",
      currency: "USD",
      version: 2,
    });
  });

  it("writes the same through the builder for other shapes (operators), and for entities without a version", async () => {
    const account = await newAccount();
    await updateIf(accounts(), { id: account.id, balance: MoreThanOrEqual(50) }, { balance: decrement(50) });
    await expect(updateIf(accounts(), { id: account.id, balance: MoreThanOrEqual(51) }, { balance: decrement(51) })).rejects.toMatchObject({
      name: "ConditionNotMetError",
    });
    expect(await accounts().findOneByOrFail({ id: account.id })).toMatchObject({ balance: 50, version: 2 });
    const plain = db.dataSource.getRepository(PlainAccount);
    const { id } = await plain.save(plain.create({ balance: 10 }));
    expect(await updateIf(plain, { id }, { balance: increment(1) }, { expectedRows: 1 })).toEqual({ affected: 1 });
    expect(await plain.findOneByOrFail({ id })).toMatchObject({ balance: 11 });
  });
});
