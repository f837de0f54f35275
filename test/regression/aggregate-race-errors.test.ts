import { join } from "node:path";
import { openClients, type Client, type Outcome } from "../support/clients/client";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { enabledDrivers } from "../support/drivers";
import { Order, OrderLine, aggregateEntities } from "../support/entities/aggregate";

const STEPS = join(__dirname, "steps/order-race.steps.ts");
const ROUNDS = Number(process.env.OCC_RACE_ROUNDS ?? 60);

/**
 * Issue 9, item 10: concurrent aggregate saves that touched lines in opposite orders deadlocked
 * (a raw QueryFailedError 40P01 / ER_LOCK_DEADLOCK in about half the runs), and removing a root
 * while another user added a line surfaced a foreign-key violation. Every writer of an aggregate now
 * locks and checks its root first: the loser of a race gets StaleDataError, never a driver error.
 * Two real connections on PostgreSQL and MariaDB, two processes on SQLite.
 */
describe.each(enabledDrivers({ mariadb: true }))("the loser of an aggregate race on %s", (driver) => {
  let db: TestDatabase;
  let clients: Client[];
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: aggregateEntities });
    clients = await openClients(db, 2, STEPS);
  });
  afterAll(async () => {
    await Promise.all((clients ?? []).map((client) => client.close()));
    await db?.close();
  });

  const orders = () => db.dataSource.getRepository(Order);
  async function seed(): Promise<number> {
    const order = await orders().save(
      orders().create({
        customer: "ada",
        lines: [
          { product: "a", quantity: 0, notes: [] },
          { product: "b", quantity: 0, notes: [] },
        ],
      }),
    );
    return order.id;
  }
  const unexpected = (outcomes: Outcome[]) => outcomes.filter((outcome) => !outcome.ok && outcome.error.name !== "StaleDataError");

  it(`changing lines in opposite orders: one wins, the other gets StaleDataError, never a deadlock (${ROUNDS} rounds)`, async () => {
    const failures: Outcome[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const orderId = await seed();
      await Promise.all(clients.map((client) => client.run("load", { orderId })));
      const outcomes = await Promise.all([
        clients[0].run("changeLines", { reverse: false, quantity: round }),
        clients[1].run("changeLines", { reverse: true, quantity: -round }),
      ]);
      failures.push(...unexpected(outcomes));
      const winners = outcomes.filter((outcome) => outcome.ok);
      expect(winners).toHaveLength(1);
      const final = await orders().findOneOrFail({ where: { id: orderId }, relations: { lines: true } });
      const winner = outcomes[0].ok ? round : -round;
      expect(final.lines.map((line) => line.quantity)).toEqual([winner, winner]);
      expect(final.version).toBe(2);
    }
    expect(failures).toEqual([]);
  });

  it(`removing an order while another user adds a line: StaleDataError, never a foreign-key violation (${ROUNDS} rounds)`, async () => {
    const failures: Outcome[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const orderId = await seed();
      await Promise.all(clients.map((client) => client.run("load", { orderId })));
      const [removed, added] = await Promise.all([clients[0].run("remove"), clients[1].run("addLine", { product: `r${round}` })]);
      failures.push(...unexpected([removed, added]));
      expect([removed.ok, added.ok].filter(Boolean)).toHaveLength(1);
      const lines = await db.dataSource.getRepository(OrderLine).countBy({ order: { id: orderId } });
      if (removed.ok) {
        expect(await orders().findOneBy({ id: orderId })).toBeNull();
        expect(lines).toBe(0);
      } else {
        expect((await orders().findOneByOrFail({ id: orderId })).version).toBe(2);
        expect(lines).toBe(3);
      }
    }
    expect(failures).toEqual([]);
  });
});
