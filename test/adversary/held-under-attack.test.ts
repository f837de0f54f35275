import { StaleDataError, UnguardedWriteError } from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { enabledDrivers } from "../support/drivers";
import { Order, OrderLine, aggregateEntities } from "../support/entities/aggregate";
import { Basket, Label, adversaryEntities } from "./support/entities";
import { BugStep, BugTicket, Ledger, LedgerEntry, Ticket, TicketComment, shapeEntities } from "./support/shapes";

/**
 * Not a finding: attacks on the promise that held (kept so they keep holding). Single-table
 * inheritance, composite keys, nested savepoints rolled back and retried, a stale copy saved after a
 * fresh one in one transaction, `reload: false`, and relation query builders from either side.
 */
describe.each(enabledDrivers({ mariadb: true }))("held under attack on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: [...aggregateEntities, ...adversaryEntities, ...shapeEntities] });
  });
  afterAll(async () => db?.close());

  const orders = () => db.dataSource.getRepository(Order);
  const loadOrder = (id: number) => orders().findOneOrFail({ where: { id }, relations: { lines: true }, order: { lines: { id: "ASC" } } });

  it("single-table inheritance: members of the base and of the child class move the one root, checked through either repository", async () => {
    const bugs = db.dataSource.getRepository(BugTicket);
    const { id, comments, steps } = await bugs.save(
      bugs.create({ title: "crash", severity: "high", comments: [{ text: "c" }], steps: [{ text: "s" }] }),
    );
    const load = () => bugs.findOneOrFail({ where: { id }, relations: { comments: true, steps: true } });
    const x = await db.dataSource.getRepository(Ticket).findOneOrFail({ where: { id }, relations: { comments: true } });
    const y = await load();
    y.steps[0].text = "Y";
    await bugs.save(y);
    x.comments[0].text = "X";
    await expect(db.dataSource.getRepository(Ticket).save(x)).rejects.toBeInstanceOf(StaleDataError);

    const step = await db.dataSource.getRepository(BugStep).findOneOrFail({ where: { id: steps[0].id }, relations: { bug: true } });
    const comment = await db.dataSource
      .getRepository(TicketComment)
      .findOneOrFail({ where: { id: comments[0].id }, relations: { ticket: true } });
    comment.text = "first";
    await db.dataSource.getRepository(TicketComment).save(comment);
    step.text = "second, stale";
    await expect(db.dataSource.getRepository(BugStep).save(step)).rejects.toBeInstanceOf(StaleDataError);
    expect(await load()).toMatchObject({ version: 3, comments: [{ text: "first" }], steps: [{ text: "Y" }] });
  });

  it("composite keys: a stale aggregate, a member alone and a member loaded with its root", async () => {
    const ledgers = db.dataSource.getRepository(Ledger);
    const entries = db.dataSource.getRepository(LedgerEntry);
    await ledgers.save(
      ledgers.create({ tenant: driver, code: "c", entries: [1, 2].map((line) => ({ tenant: driver, code: "c", line, amount: line })) }),
    );
    const load = () =>
      ledgers.findOneOrFail({ where: { tenant: driver, code: "c" }, relations: { entries: true }, order: { entries: { line: "ASC" } } });
    const x = await load();
    const withRoot = await entries.findOneOrFail({ where: { tenant: driver, code: "c", line: 2 }, relations: { ledger: true } });
    const y = await load();
    y.entries[0].amount = 10;
    await ledgers.save(y);
    x.entries[1].amount = 20;
    await expect(ledgers.save(x)).rejects.toBeInstanceOf(StaleDataError);
    withRoot.amount = 30;
    await expect(entries.save(withRoot)).rejects.toBeInstanceOf(StaleDataError);
    const alone = await entries.findOneByOrFail({ tenant: driver, code: "c", line: 2 });
    alone.amount = 40;
    await expect(entries.save(alone)).rejects.toBeInstanceOf(UnguardedWriteError);
    expect((await load()).entries.map((entry) => entry.amount)).toEqual([10, 2]);
  });

  it("a nested transaction rolled back and retried: the root moves exactly once, in memory too", async () => {
    const { id } = await orders().save(orders().create({ customer: "ada", lines: [{ product: "tea", quantity: 1, notes: [] }] }));
    const result = await db.dataSource.transaction(async (manager) => {
      const mine = await manager.findOneOrFail(Order, { where: { id }, relations: { lines: true } });
      mine.customer = "outer";
      await manager.save(mine);
      await manager
        .transaction(async (inner) => {
          mine.lines[0].quantity = 5;
          await inner.save(mine);
          await inner.save(OrderLine, { product: "cake", quantity: 1, order: { id } });
          throw new Error("inner gives up");
        })
        .catch(() => undefined);
      mine.lines[0].quantity = 6;
      await manager.save(mine);
      return mine.version;
    });
    const stored = await loadOrder(id);
    expect({ inMemory: result, stored: stored.version, quantities: stored.lines.map((line) => line.quantity) }).toEqual({
      inMemory: 2,
      stored: 2,
      quantities: [6],
    });
  });

  it("a stale copy saved after a fresh one inside one transaction is still stale", async () => {
    const { id } = await orders().save(
      orders().create({
        customer: "ada",
        lines: [
          { product: "tea", quantity: 1, notes: [] },
          { product: "cake", quantity: 1, notes: [] },
        ],
      }),
    );
    const stale = await loadOrder(id);
    const y = await loadOrder(id);
    y.lines[1].quantity = 77;
    await orders().save(y);
    await expect(
      db.dataSource.transaction(async (manager) => {
        const fresh = await manager.findOneOrFail(Order, { where: { id }, relations: { lines: true }, order: { lines: { id: "ASC" } } });
        fresh.lines[0].quantity = 5;
        await manager.save(fresh);
        stale.lines[0].quantity = 9;
        await manager.save(stale);
      }),
    ).rejects.toBeInstanceOf(StaleDataError);
    expect((await loadOrder(id)).lines.map((line) => line.quantity)).toEqual([1, 77]);
  });

  it("reload: false still moves the in-memory versions the database moved", async () => {
    const { id } = await orders().save(orders().create({ customer: "ada", lines: [{ product: "tea", quantity: 1, notes: [] }] }));
    const mine = await loadOrder(id);
    mine.lines[0].quantity = 2;
    await orders().save(mine, { reload: false });
    mine.customer = "grace";
    await orders().save(mine, { reload: false });
    expect([mine.version, (await orders().findOneByOrFail({ id })).version]).toEqual([3, 3]);
  });

  it("relation query builders are refused on a root's many-to-many links from either side", async () => {
    const label = await db.dataSource.getRepository(Label).save({ text: "l" });
    const basket = await db.dataSource.getRepository(Basket).save({ owner: "o", items: [] });
    await expect(db.dataSource.createQueryBuilder().relation(Label, "baskets").of(label).add(basket)).rejects.toBeInstanceOf(
      UnguardedWriteError,
    );
    await expect(db.dataSource.createQueryBuilder().relation(Basket, "labels").of(basket).add(label)).rejects.toBeInstanceOf(
      UnguardedWriteError,
    );
  });
});
