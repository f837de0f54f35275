import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { eachDriver } from "../support/each-driver";
import { StaleDataError } from "typeorm-occ";
import { Order } from "../support/entities/aggregate";
import { Account, writeEntities } from "../writes/support/entities";

/**
 * Adversary finding (issue 14, a new shape of "the transaction's own write lets older copies
 * through"): two copies of one row, both read at version 1, handed to ONE `save([a, b])` call. Each
 * withdraws from the balance it read (100 → 10 and 100 → 20). The call succeeds: the row ends at
 * version 2 with b's balance, a's write is lost, and both objects now say version 2 (a's copy, stamped
 * current, is itself stale and would revert b later). The same with two copies of an aggregate: one
 * line change is silently dropped.
 * Saved one after the other in one transaction, the second is refused (copy-read-before-own-write);
 * in one call the unit's writes are recorded only after the whole unit, so the second subject of the
 * same row is mapped onto the first one's move (`currentVersion`: carried 1 = moved.from → 2).
 * A correct library refuses the call with StaleDataError (the second copy was read before the
 * first one's write), nothing written — or refuses two copies of one row in one unit outright.
 */
eachDriver(undefined, { mariadb: true })("two copies of one row in one save() call on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: writeEntities });
  });
  afterAll(async () => db?.close());

  it("a versioned row: the second copy's write does not silently replace the first", async () => {
    const accounts = db.dataSource.getRepository(Account);
    const { id } = await accounts.save(accounts.create({ owner: "ada", balance: 100 }));
    const a = await accounts.findOneByOrFail({ id });
    const b = await accounts.findOneByOrFail({ id });
    a.balance = 10;
    b.balance = 20;
    const error = await accounts.save([a, b]).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StaleDataError);
    expect(await accounts.findOneByOrFail({ id })).toMatchObject({ balance: 100, version: 1 });
  });

  it("an aggregate: two copies of one order, each changing the same line", async () => {
    const orders = db.dataSource.getRepository(Order);
    const { id } = await orders.save(orders.create({ customer: "ada", lines: [{ product: "p", quantity: 1, notes: [] }] }));
    const load = () => orders.findOneOrFail({ where: { id }, relations: { lines: true } });
    const [o1, o2] = [await load(), await load()];
    o1.lines[0].quantity = 3;
    o2.lines[0].quantity = 7;
    const error = await orders.save([o1, o2]).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StaleDataError);
    expect(await load()).toMatchObject({ version: 1, lines: [{ quantity: 1 }] });
  });
});
