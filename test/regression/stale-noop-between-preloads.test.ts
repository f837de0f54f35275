import type { DataSource, EntitySubscriberInterface } from "typeorm";
import { StaleDataError, isSqliteBusy } from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { enabledDrivers } from "../support/drivers";
import { Order, OrderLine, aggregateEntities } from "../support/entities/aggregate";

/**
 * A known edge of the previous release, closed: TypeORM pre-loads a root and its members in separate
 * statements, so a commit landing between them showed an unchanged root and members already holding
 * the values of the save — which was then acknowledged as a no-op, although the copy was read at an
 * older version (an increment lost). The commit is injected deterministically from an `afterLoad`
 * subscriber that fires right after the root's pre-load.
 */
describe.each(enabledDrivers({ mariadb: true }))("a commit between TypeORM's pre-load statements on %s", (driver) => {
  let db: TestDatabase;
  let other: DataSource;
  let inject: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: aggregateEntities });
    other = await db.open();
    const subscriber: EntitySubscriberInterface<Order> = {
      listenTo: () => Order,
      afterLoad: async () => {
        const work = inject;
        inject = undefined;
        await work?.();
      },
    };
    db.dataSource.subscribers.push(subscriber);
  });
  afterAll(async () => db?.close());

  const orders = () => db.dataSource.getRepository(Order);
  const load = (source: DataSource, id: number) =>
    source.getRepository(Order).findOneOrFail({ where: { id }, relations: { lines: true }, order: { lines: { id: "ASC" } } });

  it.each([
    ["standalone", (order: Order) => orders().save(order)],
    ["inside a transaction", (order: Order) => db.dataSource.transaction((manager) => manager.save(order))],
  ])("refuses the outdated copy instead of acknowledging a no-op (%s)", async (_, save) => {
    const { id } = await orders().save(orders().create({ customer: "ada", lines: [{ product: "tea", quantity: 1, notes: [] }] }));
    const read = await load(db.dataSource, id);
    // A copy built by hand from that read, so TypeORM pre-loads the rows (a loaded copy's read stands in
    // for the pre-load: no statements to commit between, see save-of-a-known-read).
    const mine = orders().create({
      id,
      customer: read.customer,
      version: read.version,
      lines: read.lines.map(({ id: lineId, product, quantity }) => ({ id: lineId, product, quantity, notes: [] })),
    });
    mine.lines[0].quantity += 1; // the increment I mean to make, from version 1
    inject = async () => {
      const theirs = await load(other, id);
      theirs.lines[0].quantity += 1; // the same increment, committed between my pre-load statements
      await other.getRepository(Order).save(theirs);
    };
    const error = await save(mine).catch((e: unknown) => e);
    expect(inject).toBeUndefined(); // the injected commit did happen
    if (driver === "sqlite" && isSqliteBusy(error)) {
      // Inside a transaction that already read, SQLite itself refuses the write (SQLITE_BUSY_SNAPSHOT): also nothing written.
      expect((error as { driverError?: { code?: string } }).driverError?.code).toBe("SQLITE_BUSY_SNAPSHOT");
    } else {
      expect(error).toBeInstanceOf(StaleDataError);
    }
    expect(await load(db.dataSource, id)).toMatchObject({ version: 2, lines: [{ quantity: 2 }] });
    expect(mine.version).toBe(1);
    expect((await db.dataSource.getRepository(OrderLine).findOneByOrFail({ id: mine.lines[0].id })).quantity).toBe(2);
  });
});
