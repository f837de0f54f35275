import { join } from "node:path";
import { StaleDataError } from "typeorm-occ";
import { openClients, type Client, type Outcome } from "../support/clients/client";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { enabledDrivers } from "../support/drivers";
import { Invoice, Order, OrderLine, aggregateEntities } from "../support/entities/aggregate";

const STEPS = join(__dirname, "steps/order-pair.steps.ts");
const ROUNDS = Number(process.env.OCC_RACE_ROUNDS ?? 40);

/**
 * Issue 9, item 7: a StaleDataError caught inside the caller's transaction, which then commits:
 * the part of the save that ran before the failing statement was committed (62 of 63 caught errors
 * on PostgreSQL). A save that raises leaves nothing of itself behind, whatever the caller does
 * next: inside the caller's transaction it runs under a savepoint, and its roots are checked first.
 */
describe.each(enabledDrivers({ mariadb: true }))("a StaleDataError caught inside the caller's transaction on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: aggregateEntities });
  });
  afterAll(async () => db?.close());

  const orders = () => db.dataSource.getRepository(Order);
  const lines = () => db.dataSource.getRepository(OrderLine);
  const loadOrder = (id: number) => orders().findOneOrFail({ where: { id }, relations: { lines: true }, order: { lines: { id: "ASC" } } });
  const newOrder = async (lineCount = 1) =>
    loadOrder(
      (
        await orders().save(
          orders().create({
            customer: "ada",
            lines: Array.from({ length: lineCount }, (_, i) => ({ product: `p${i}`, quantity: 0, notes: [] })),
          }),
        )
      ).id,
    );

  /** Two orders, ordered so that the stale one's root is locked second (after the fresh one was written). */
  async function freshAndStale(): Promise<[Order, Order]> {
    const [x, y] = [await newOrder(), await newOrder()];
    return String(x.id) < String(y.id) ? [x, y] : [y, x];
  }

  it("leaves nothing when the second root of a save is stale and the first root was already written", async () => {
    const [fresh, stale] = await freshAndStale();
    const freshLine = await lines().findOneOrFail({ where: { id: fresh.lines[0].id }, relations: { order: true } });
    const staleLine = await lines().findOneOrFail({ where: { id: stale.lines[0].id }, relations: { order: true } });
    const other = await loadOrder(stale.id);
    other.customer = "changed meanwhile";
    await orders().save(other);

    freshLine.quantity = 5;
    staleLine.quantity = 5;
    const statements = await db.log.capture(() =>
      db.dataSource.transaction(async (manager) => {
        await expect(manager.save(OrderLine, [freshLine, staleLine])).rejects.toMatchObject({
          name: "StaleDataError",
          primaryKey: { id: stale.id },
        });
      }),
    );
    expect(statements.some((sql) => /^ROLLBACK TO SAVEPOINT/i.test(sql))).toBe(true);
    expect(await loadOrder(fresh.id)).toMatchObject({ version: 1, lines: [{ quantity: 0 }] });
    expect(await loadOrder(stale.id)).toMatchObject({ version: 2, lines: [{ quantity: 0 }] });
    expect([freshLine.order.version, staleLine.order.version]).toEqual([1, 1]); // in memory too
  });

  it("leaves nothing when a member's own version is stale after its root was written", async () => {
    const invoices = db.dataSource.getRepository(Invoice);
    const { id } = await invoices.save(invoices.create({ number: "I-1", lines: [{ amount: 1 }] }));
    const mine = await invoices.findOneOrFail({ where: { id }, relations: { lines: true } });
    const theirs = await invoices.findOneOrFail({ where: { id }, relations: { lines: true } });
    theirs.lines[0].amount = 2;
    await invoices.save(theirs);
    invoices.merge(mine, await invoices.findOneByOrFail({ id })); // the root read again: only the line is stale
    mine.lines[0].amount = 3;
    await db.dataSource.transaction(async (manager) => {
      await expect(manager.save(mine)).rejects.toMatchObject({ name: "StaleDataError", entityName: "InvoiceLine" });
    });
    const final = await invoices.findOneOrFail({ where: { id }, relations: { lines: true } });
    expect(final).toMatchObject({ version: theirs.version, lines: [{ amount: 2 }] });
  });

  it("keeps the caller's own earlier writes in the same transaction", async () => {
    const [first, second] = [await newOrder(), await newOrder()];
    const stale = await loadOrder(second.id);
    const fresh = await loadOrder(second.id);
    fresh.customer = "moved on";
    await orders().save(fresh);
    await db.dataSource.transaction(async (manager) => {
      first.customer = "kept";
      await manager.save(first);
      stale.lines[0].quantity = 9;
      await manager.save(stale).catch((error: unknown) => {
        if (!(error instanceof StaleDataError)) throw error;
      });
    });
    expect(await loadOrder(first.id)).toMatchObject({ customer: "kept", version: 2 });
    expect(await loadOrder(second.id)).toMatchObject({ customer: "moved on", lines: [{ quantity: 0 }] });
  });

  describe("concurrent writers, each catching the error and committing", () => {
    let clients: Client[];
    beforeAll(async () => {
      clients = await openClients(db, 3, STEPS);
    });
    afterAll(async () => Promise.all((clients ?? []).map((client) => client.close())));

    /** Saved or caught; on SQLite a transaction that read before writing may also lose with SQLITE_BUSY (rolled back, nothing written). */
    function tally(outcomes: Outcome<string>[], counts: { saved: number; caught: number; busy: number }) {
      for (const outcome of outcomes) {
        if (outcome.ok) counts[outcome.value === "saved" ? "saved" : "caught"]++;
        else if (driver === "sqlite" && /^SQLITE_BUSY/.test(outcome.error.code ?? "")) counts.busy++;
        else throw new Error(`unexpected ${outcome.error.name}: ${outcome.error.message}`);
      }
    }

    it(`three writers of three different lines of one order: a caught failure leaves its line untouched (${ROUNDS} rounds)`, async () => {
      const order = await newOrder(3);
      const counts = { saved: 0, caught: 0, busy: 0 };
      for (let round = 0; round < ROUNDS; round++) {
        tally(await Promise.all(clients.map((client, index) => client.run<string>("bumpLine", { orderId: order.id, index }))), counts);
      }
      const final = await loadOrder(order.id);
      expect(counts.caught).toBeGreaterThan(0);
      expect(final.lines.reduce((sum, line) => sum + line.quantity, 0)).toBe(counts.saved);
      expect(final.version).toBe(1 + counts.saved);
    });

    it(`three writers of the same two orders in one save: a caught failure leaves both untouched (${ROUNDS} rounds)`, async () => {
      const [first, second] = await freshAndStale();
      const counts = { saved: 0, caught: 0, busy: 0 };
      for (let round = 0; round < ROUNDS; round++) {
        tally(
          await Promise.all(clients.map((client) => client.run<string>("bumpPair", { lineIds: [first.lines[0].id, second.lines[0].id] }))),
          counts,
        );
      }
      const [a, b] = [await loadOrder(first.id), await loadOrder(second.id)];
      expect(counts.caught).toBeGreaterThan(0);
      expect([a.lines[0].quantity, b.lines[0].quantity]).toEqual([counts.saved, counts.saved]);
      expect([a.version, b.version]).toEqual([1 + counts.saved, 1 + counts.saved]);
    });
  });
});
