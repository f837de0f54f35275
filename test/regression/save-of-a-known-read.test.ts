import type { EntitySubscriberInterface, UpdateEvent } from "typeorm";
import { StaleDataError } from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { eachDriver } from "../support/each-driver";
import { Account, Listing, writeEntities } from "../writes/support/entities";

/**
 * Issue 16: a checked save() of a copy TypeORM loaded sent five statements on PostgreSQL (the
 * caller's SELECT, TypeORM's pre-load SELECT of the same row, BEGIN, the checked UPDATE, COMMIT)
 * and six on SQLite (a SELECT of the version after the UPDATE). The library knows what the copy was
 * read as, and `WHERE version = :v` proves the row still holds exactly that: the copy's own read is
 * the pre-load, one checked statement needs no transaction, and a version it set needs no read-back.
 * The guarantee is unchanged: every stale shape below still fails, nothing written.
 */
eachDriver(undefined, { mariadb: true })("save() of a copy whose read the library knows, on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: writeEntities });
  });
  afterAll(async () => db?.close());

  const accounts = () => db.dataSource.getRepository(Account);
  const loaded = async () =>
    accounts().findOneByOrFail({ id: (await accounts().save(accounts().create({ owner: "ada", balance: 100 }))).id });
  const statementsOf = (work: () => Promise<unknown>) => db.log.capture(async () => void (await work()));

  it("sends one UPDATE: no pre-load, no transaction of its own, no read-back", async () => {
    const account = await loaded();
    account.balance = 80;
    const statements = await statementsOf(() => accounts().save(account));
    expect(statements).toHaveLength(1);
    expect(statements[0]).toMatch(/^UPDATE /);
    expect(account.version).toBe(2);
    account.owner = "grace";
    expect(await statementsOf(() => accounts().save(account))).toHaveLength(1);
    expect(await accounts().findOneByOrFail({ id: account.id })).toMatchObject({ balance: 80, owner: "grace", version: 3 });
  });

  it("still refuses a stale copy, and writes nothing", async () => {
    const account = await loaded();
    const other = await accounts().findOneByOrFail({ id: account.id });
    other.owner = "grace";
    await accounts().save(other);
    account.balance = 1;
    await expect(accounts().save(account)).rejects.toMatchObject({ name: "StaleDataError", expectedVersion: 1, actualVersion: 2 });
    expect(await accounts().findOneByOrFail({ id: account.id })).toMatchObject({ balance: 100, owner: "grace", version: 2 });
  });

  it("refuses a copy whose row was removed meanwhile, instead of inserting it again", async () => {
    const account = await loaded();
    await accounts().delete({ id: account.id });
    account.balance = 1;
    await expect(accounts().save(account)).rejects.toMatchObject({ name: "StaleDataError", actualVersion: null });
    expect(await accounts().findOneBy({ id: account.id })).toBeNull();
  });

  it("compares an unchanged copy with one SELECT, and refuses it when stale", async () => {
    const account = await loaded();
    const statements = await statementsOf(() => accounts().save(account));
    expect(statements).toHaveLength(1);
    expect(statements[0]).toMatch(/^SELECT /);
    await accounts().update({ id: account.id }, { owner: "grace" });
    await expect(accounts().save(account)).rejects.toBeInstanceOf(StaleDataError);
  });

  it("removes a loaded copy with one checked DELETE", async () => {
    const account = await loaded();
    const statements = await statementsOf(() => accounts().remove(account));
    expect(statements).toHaveLength(1);
    expect(statements[0]).toMatch(/^DELETE /);
    const stale = await loaded();
    await accounts().update({ id: stale.id }, { owner: "grace" });
    await expect(accounts().remove(stale)).rejects.toBeInstanceOf(StaleDataError);
    expect(await accounts().findOneBy({ id: stale.id })).not.toBeNull();
  });

  it("sees values changed in place (JSON arrays, embedded objects) and writes transformed values", async () => {
    const listings = db.dataSource.getRepository(Listing);
    const { id } = await listings.save(listings.create({ code: "a", price: { cents: 1, currency: "EUR" }, tags: ["x"] }));
    const listing = await listings.findOneByOrFail({ id });
    listing.tags.push("y");
    listing.price.cents = 5;
    await listings.save(listing);
    expect(await listings.findOneByOrFail({ id })).toMatchObject({
      code: "A",
      price: { cents: 5, currency: "EUR" },
      tags: ["x", "y"],
      version: 2,
    });
    listing.code = "b";
    await listings.save(listing);
    expect(await listings.findOneByOrFail({ id })).toMatchObject({ code: "B", tags: ["x", "y"], version: 3 });
  });

  it("writes the change again after the transaction that saved it rolled back", async () => {
    const account = await loaded();
    account.balance = 5;
    await expect(
      db.dataSource.transaction(async (manager) => {
        await manager.save(account);
        throw new Error("rolled back");
      }),
    ).rejects.toThrow("rolled back");
    expect(account.version).toBe(1);
    await accounts().save(account);
    expect(await accounts().findOneByOrFail({ id: account.id })).toMatchObject({ balance: 5, version: 2 });
  });

  it("keeps a transaction when a subscriber listens to writes (its statements belong to the save)", async () => {
    const seen: number[] = [];
    const subscriber: EntitySubscriberInterface<Account> = {
      listenTo: () => Account,
      afterUpdate: (event: UpdateEvent<Account>) => void seen.push(Number(event.databaseEntity?.version)),
    };
    db.dataSource.subscribers.push(subscriber);
    try {
      const account = await loaded();
      account.balance = 7;
      const statements = await statementsOf(() => accounts().save(account));
      expect(statements.some((statement) => /^(BEGIN|START TRANSACTION)/i.test(statement))).toBe(true);
      expect(statements.filter((statement) => /^SELECT/i.test(statement))).toHaveLength(0);
      expect(seen).toEqual([1]);
    } finally {
      db.dataSource.subscribers.splice(db.dataSource.subscribers.indexOf(subscriber), 1);
    }
  });

  it("pre-loads as before for an object built by hand", async () => {
    const account = await loaded();
    const statements = await statementsOf(() => accounts().save(accounts().create({ id: account.id, version: 1, owner: "grace" })));
    expect(statements[0]).toMatch(/^SELECT /);
    expect(await accounts().findOneByOrFail({ id: account.id })).toMatchObject({ owner: "grace", version: 2 });
  });
});
