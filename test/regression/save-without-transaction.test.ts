import { join } from "node:path";
import { StaleDataError, TransactionRequiredError } from "typeorm-occ";
import { openClients, type Client } from "../support/clients/client";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { enabledDrivers } from "../support/drivers";
import { Order, OrderLine, aggregateEntities } from "../support/entities/aggregate";
import { Doc } from "../support/entities/core";

const STEPS = join(__dirname, "steps/no-transaction.steps.ts");
const ROUNDS = Number(process.env.OCC_RACE_ROUNDS ?? 30);

/**
 * Issue 9, item 6: `save(…, { transaction: false })` of an aggregate: the loser got
 * StaleDataError but its line change stayed written (every run on PostgreSQL and MariaDB); a line
 * saved on its own with a stale root raised StaleDataError with its new quantity stored. Without a
 * transaction a save that writes several statements with a check among them cannot be atomic, so
 * it is refused before anything is sent; a save of one checked statement still runs.
 */
describe.each(enabledDrivers({ mariadb: true }))("save({ transaction: false }) on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: [...aggregateEntities, Doc] });
  });
  afterAll(async () => db?.close());

  const orders = () => db.dataSource.getRepository(Order);
  const lines = () => db.dataSource.getRepository(OrderLine);
  const loadOrder = (id: number) => orders().findOneOrFail({ where: { id }, relations: { lines: true }, order: { lines: { id: "ASC" } } });
  const writes = (statements: string[]) => statements.filter((sql) => /^(UPDATE|INSERT|DELETE)/i.test(sql));

  it("reproduction: a line saved on its own with a stale root is refused and its quantity is not stored", async () => {
    const order = await orders().save(orders().create({ customer: "ada", lines: [{ product: "tea", quantity: 1, notes: [] }] }));
    const line = await lines().findOneOrFail({ where: { id: order.lines[0].id }, relations: { order: true } });
    const other = await loadOrder(order.id);
    other.customer = "changed";
    await orders().save(other);

    line.quantity = 42;
    const statements = await db.log.capture(() =>
      expect(lines().save(line, { transaction: false })).rejects.toBeInstanceOf(TransactionRequiredError),
    );
    expect(writes(statements)).toEqual([]);
    expect((await lines().findOneByOrFail({ id: line.id })).quantity).toBe(1);
  });

  it("the error says what to do", async () => {
    const order = await loadOrder(
      (await orders().save(orders().create({ customer: "ada", lines: [{ product: "tea", quantity: 1, notes: [] }] }))).id,
    );
    order.lines[0].quantity = 2;
    const error = (await orders()
      .save(order, { transaction: false })
      .catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(TransactionRequiredError);
    expect(error.message).toMatch(/Drop \{ transaction: false \}, or run it inside dataSource\.transaction\(\)/);
  });

  it("still runs a save of one checked statement, checked", async () => {
    const docs = db.dataSource.getRepository(Doc);
    const doc = await docs.save(docs.create({ title: "a" }));
    const stale = await docs.findOneByOrFail({ id: doc.id });
    doc.title = "b";
    await docs.save(doc, { transaction: false });
    expect(doc.version).toBe(2);
    stale.title = "stale";
    await expect(docs.save(stale, { transaction: false })).rejects.toBeInstanceOf(StaleDataError);
    expect(await docs.findOneByOrFail({ id: doc.id })).toMatchObject({ title: "b", version: 2 });
  });

  it("leaves the same save inside a transaction of the caller's alone (the caller's transaction makes it atomic)", async () => {
    const order = await loadOrder(
      (await orders().save(orders().create({ customer: "ada", lines: [{ product: "tea", quantity: 1, notes: [] }] }))).id,
    );
    order.lines[0].quantity = 2;
    await db.dataSource.transaction((manager) => manager.save(order, { transaction: false }));
    expect((await loadOrder(order.id)).lines[0].quantity).toBe(2);
  });

  describe("two writers of one order", () => {
    let clients: Client[];
    beforeAll(async () => {
      clients = await openClients(db, 2, STEPS);
    });
    afterAll(async () => Promise.all((clients ?? []).map((client) => client.close())));

    it(`each changing its own line: neither change is written half (${ROUNDS} rounds)`, async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const { id } = await orders().save(
          orders().create({
            customer: "ada",
            lines: [
              { product: "a", quantity: 0, notes: [] },
              { product: "b", quantity: 0, notes: [] },
            ],
          }),
        );
        await Promise.all(clients.map((client) => client.run("load", { orderId: id })));
        const outcomes = await Promise.all(clients.map((client, index) => client.run("changeLine", { index })));
        for (const outcome of outcomes) expect(outcome).toMatchObject({ ok: false, error: { name: "TransactionRequiredError" } });
        expect(await loadOrder(id)).toMatchObject({ version: 1, lines: [{ quantity: 0 }, { quantity: 0 }] });
      }
    });
  });
});
