import { In, IsNull, LessThan, MoreThan, MoreThanOrEqual, Not } from "typeorm";
import {
  ConditionNotMetError,
  StaleDataError,
  InvalidArgumentError,
  UnguardedWriteError,
  decrement,
  increment,
  updateIf,
} from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { eachDriver } from "../support/each-driver";
import { Invoice, InvoiceLine, Order, OrderLine, Shipment } from "../support/entities/aggregate";
import { Account, PlainAccount, writeEntities } from "./support/entities";
import { startRacers, type Racers } from "./support/racers";

eachDriver(undefined, { mariadb: true })("updateIf on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: writeEntities });
  });
  afterAll(async () => db?.close());

  const accounts = () => db.dataSource.getRepository(Account);
  const stored = (id: number) => accounts().findOneByOrFail({ id });
  const newAccount = (balance = 250, owner = "ada") => accounts().save(accounts().create({ owner, balance }));

  it("withdraws in one UPDATE with the condition, a bound amount and the version bump; nothing read", async () => {
    const { id } = await newAccount();
    const statements = await db.log.capture(async () => {
      expect(await updateIf(accounts(), { id, balance: MoreThanOrEqual(100) }, { balance: decrement(100) })).toEqual({ affected: 1 });
    });
    expect(statements).toHaveLength(1);
    const [update] = statements;
    expect(update).toMatch(/^UPDATE /);
    // The amount is bound, never SQL text; TypeORM's SQLite driver inlines bound numbers itself.
    if (driver === "sqlite") expect(update).toMatch(/"balance" - 100,/);
    else expect(update).toMatch(/balance\W* - [$?]/);
    if (driver !== "sqlite") expect(update).not.toContain("100");
    expect(update).toMatch(/version\W* \+ 1/);
    expect(update).toMatch(/>=/);
    expect(await stored(id)).toMatchObject({ balance: 150, version: 2 });
  });

  it("adds with increment(), and accepts TypeORM's raw SQL functions", async () => {
    const { id } = await newAccount(10);
    await updateIf(accounts(), { id }, { balance: increment(5) });
    await updateIf(accounts(), { id }, { balance: () => "balance * 2", owner: "grace" });
    expect(await stored(id)).toMatchObject({ balance: 30, owner: "grace", version: 3 });
  });

  it("refuses a withdrawal the balance cannot cover with ConditionNotMetError, writing nothing", async () => {
    const { id } = await newAccount(50);
    const error = await updateIf(accounts(), { id, balance: MoreThanOrEqual(100) }, { balance: decrement(100) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConditionNotMetError);
    expect(error).toMatchObject({
      name: "ConditionNotMetError",
      entityName: "Account",
      operation: "updateIf",
      matchedRows: 0,
      expectedRows: undefined,
      rowExists: true,
      criteria: { id, balance: expect.anything() },
    });
    expect((error as Error).message).toBe(
      `Account: updateIf condition not met: 0 rows matched where { id: ${id}, balance: moreThanOrEqual(100) }, expected at least 1; the row exists`,
    );
    expect(await stored(id)).toMatchObject({ balance: 50, version: 1 });
  });

  it("says when the row does not exist, and when the criteria name no row", async () => {
    const missing = await updateIf(accounts(), { id: 987654, balance: MoreThanOrEqual(1) }, { balance: decrement(1) }).catch(
      (e: unknown) => e,
    );
    expect(missing).toMatchObject({ name: "ConditionNotMetError", rowExists: false });
    await newAccount(5, "owner-by-name");
    const byName = await updateIf(accounts(), { owner: "owner-by-name", balance: MoreThan(1000) }, { balance: decrement(1) }).catch(
      (e: unknown) => e,
    );
    expect(byName).toMatchObject({ rowExists: true });
    const onlyOperators = await updateIf(accounts(), { balance: LessThan(-1_000_000) }, { balance: increment(1) }).catch((e: unknown) => e);
    expect(onlyOperators).toMatchObject({ name: "ConditionNotMetError", rowExists: null });
  });

  it("updates every matching row; expectedRows requires an exact count and rolls back any other", async () => {
    const a = await newAccount(100, "team-x");
    const b = await newAccount(100, "team-x");
    expect(await updateIf(accounts(), { owner: "team-x" }, { balance: increment(1) })).toEqual({ affected: 2 });
    expect(await updateIf(accounts(), { owner: "team-x" }, { balance: increment(1) }, { expectedRows: 2 })).toEqual({ affected: 2 });

    const error = await updateIf(accounts(), { owner: "team-x" }, { balance: increment(1000) }, { expectedRows: 1 }).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ name: "ConditionNotMetError", matchedRows: 2, expectedRows: 1, rowExists: true });
    expect((error as Error).message).toContain('2 rows matched where { owner: "team-x" }, expected exactly 1');
    for (const { id } of [a, b]) expect(await stored(id)).toMatchObject({ balance: 102, version: 3 });
  });

  it("joins the caller's transaction, and an exact-count miss there rolls back only its savepoint", async () => {
    const { id } = await newAccount(100, "tx");
    const other = await newAccount(100, "tx");
    await db.dataSource
      .transaction(async (manager) => {
        await updateIf(manager.getRepository(Account), { id }, { balance: increment(10) });
        await expect(
          updateIf(manager.getRepository(Account), { owner: "tx" }, { balance: increment(1) }, { expectedRows: 1 }),
        ).rejects.toThrow(ConditionNotMetError);
        expect(await manager.findOneByOrFail(Account, { id })).toMatchObject({ balance: 110 }); // still in the transaction
        throw new Error("roll back");
      })
      .catch(() => undefined);
    expect(await stored(id)).toMatchObject({ balance: 100, version: 1 });
    expect(await stored(other.id)).toMatchObject({ balance: 100, version: 1 });

    await db.dataSource.transaction(async (manager) => {
      await updateIf(manager.getRepository(Account), { id }, { balance: increment(10) });
      await updateIf(manager.getRepository(Account), { owner: "tx" }, { balance: increment(1) }, { expectedRows: 1 }).catch(
        () => undefined,
      );
    });
    expect(await stored(id)).toMatchObject({ balance: 110, version: 2 });
  });

  it("makes every holder of the row stale: a save from a copy read before fails", async () => {
    const { id } = await newAccount(100);
    const copy = await stored(id);
    await updateIf(accounts(), { id }, { balance: decrement(30) });
    copy.balance += 1;
    await expect(accounts().save(copy)).rejects.toThrow(StaleDataError);
    expect(await stored(id)).toMatchObject({ balance: 70, version: 2 });
  });

  it("works on entities without a version column, and with find operators of all kinds", async () => {
    const plain = db.dataSource.getRepository(PlainAccount);
    const { id } = await plain.save(plain.create({ balance: 7 }));
    const statements = await db.log.capture(() =>
      updateIf(plain, { id: In([id]), balance: Not(IsNull()) }, { balance: increment(3), rate: "1.50" }),
    );
    expect(statements).toHaveLength(1);
    expect(statements[0]).not.toMatch(/version/);
    expect(await plain.findOneByOrFail({ id })).toMatchObject({ balance: 10 });
    await updateIf(plain, { id }, { rate: increment(0.25) });
    expect(Number((await plain.findOneByOrFail({ id })).rate)).toBe(1.75);
  });

  it("writes aggregate roots: their version moves", async () => {
    const orders = db.dataSource.getRepository(Order);
    const order = await orders.save(orders.create({ customer: "ada", lines: [{ product: "tea", quantity: 1 }] }));
    await updateIf(orders, { id: order.id }, { customer: "grace" });
    expect(await orders.findOneByOrFail({ id: order.id })).toMatchObject({ customer: "grace", version: 2 });
  });

  describe("aggregate members", () => {
    const orders = () => db.dataSource.getRepository(Order);
    const lines = () => db.dataSource.getRepository(OrderLine);
    const newOrder = (quantity = 3) =>
      orders().save(
        orders().create({
          customer: "ada",
          lines: [
            { product: "tea", quantity },
            { product: "cake", quantity },
          ],
        }),
      );
    const load = (id: number) => orders().findOneOrFail({ where: { id }, relations: { lines: true }, order: { lines: { id: "ASC" } } });

    it("a member row moves its root's version by one, in one transaction with the UPDATE", async () => {
      const order = await newOrder();
      const statements = await db.log.capture(() =>
        updateIf(lines(), { id: order.lines[0].id, quantity: MoreThanOrEqual(2) }, { quantity: decrement(2) }),
      );
      const after = await load(order.id);
      expect({ version: after.version, quantities: after.lines.map((line) => line.quantity) }).toEqual({ version: 2, quantities: [1, 3] });
      const writes = statements.filter((sql) => /^\s*UPDATE/i.test(sql) && !/WHERE 1 = 0/.test(sql)); // not SQLite's write lock taken first
      expect(writes).toHaveLength(2);
      expect(writes[0]).toMatch(/"?order"?/); // the root first
    });

    it("rows of several aggregates move each root once", async () => {
      const [a, b] = [await newOrder(), await newOrder()];
      const product = `p-${a.id}`;
      for (const line of [a.lines[0], a.lines[1], b.lines[0]]) await updateIf(lines(), { id: line.id }, { product });
      expect(await updateIf(lines(), { product }, { quantity: increment(1) })).toEqual({ affected: 3 });
      expect((await load(a.id)).version).toBe(4); // 2 single updates + 1
      expect((await load(b.id)).version).toBe(3); // 1 single update + 1
    });

    it("a condition not met moves nothing, also when the caller catches the error and commits", async () => {
      const order = await newOrder(1);
      await expect(
        updateIf(lines(), { id: order.lines[0].id, quantity: MoreThanOrEqual(5) }, { quantity: decrement(5) }),
      ).rejects.toMatchObject({
        name: "ConditionNotMetError",
        rowExists: true,
      });
      await db.dataSource.transaction(async (manager) => {
        await expect(
          updateIf(manager.getRepository(OrderLine), { id: order.lines[0].id, quantity: MoreThanOrEqual(5) }, { quantity: decrement(5) }),
        ).rejects.toBeInstanceOf(ConditionNotMetError);
      });
      await expect(
        updateIf(lines(), { id: In([order.lines[0].id, order.lines[1].id]) }, { quantity: increment(1) }, { expectedRows: 3 }),
      ).rejects.toBeInstanceOf(ConditionNotMetError);
      const after = await load(order.id);
      expect({ version: after.version, quantities: after.lines.map((line) => line.quantity) }).toEqual({ version: 1, quantities: [1, 1] });
    });

    it("a holder of the root's old version goes stale", async () => {
      const order = await load((await newOrder()).id);
      await updateIf(lines(), { id: order.lines[1].id }, { quantity: increment(1) });
      order.lines[0].quantity = 9;
      await expect(orders().save(order)).rejects.toBeInstanceOf(StaleDataError);
      expect((await load(order.id)).lines.map((line) => line.quantity)).toEqual([3, 4]);
    });

    it("a member with a version of its own: both versions move", async () => {
      const invoices = db.dataSource.getRepository(Invoice);
      const invoice = await invoices.save(invoices.create({ number: "I-1", lines: [{ amount: 5 }] }));
      await updateIf(db.dataSource.getRepository(InvoiceLine), { id: invoice.lines[0].id }, { amount: increment(1) });
      const after = await invoices.findOneOrFail({ where: { id: invoice.id }, relations: { lines: true } });
      expect({ version: after.version, line: after.lines[0] }).toMatchObject({ version: 2, line: { amount: 6, version: 2 } });
    });

    it("an explicitly declared member (no relation down from the root) moves it too", async () => {
      const order = await newOrder();
      const shipments = db.dataSource.getRepository(Shipment);
      const shipment = await shipments.save(shipments.create({ carrier: "dhl", order: { id: order.id } }));
      const before = (await load(order.id)).version;
      await updateIf(shipments, { id: shipment.id }, { carrier: "ups" });
      expect((await load(order.id)).version).toBe(before + 1);
    });

    it("refuses a change that moves a member to another root, sending nothing", async () => {
      const [a, b] = [await newOrder(), await newOrder()];
      db.log.clear();
      const error = await updateIf(lines(), { id: a.lines[0].id }, { order: { id: b.id } as Order }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnguardedWriteError);
      expect((error as Error).message).toMatch(/moves it to another Order/);
      expect(db.log.queries).toEqual([]);
    });
  });

  describe("bad input: a typed error, nothing sent", () => {
    const cases: Array<[string, (id: number) => Promise<unknown>]> = [
      ["an empty where", () => updateIf(accounts(), {}, { balance: increment(1) })],
      ["undefined in where", () => updateIf(accounts(), { id: undefined }, { balance: increment(1) })],
      ["null in where", () => updateIf(accounts(), { id: null as never }, { balance: increment(1) })],
      [
        "undefined inside an operator",
        (id) => updateIf(accounts(), { id, balance: MoreThanOrEqual(undefined as never) }, { balance: increment(1) }),
      ],
      ["a where array", (id) => updateIf(accounts(), [{ id }] as never, { balance: increment(1) })],
      ["a where that is not an object", () => updateIf(accounts(), "id = 1" as never, { balance: increment(1) })],
      ["an unknown property in where", (id) => updateIf(accounts(), { id, balanse: 1 } as never, { balance: increment(1) })],
      ["empty changes", (id) => updateIf(accounts(), { id }, {})],
      ["changes that are not an object", (id) => updateIf(accounts(), { id }, null as never)],
      ["undefined in changes", (id) => updateIf(accounts(), { id }, { balance: undefined })],
      ["an unknown property in changes", (id) => updateIf(accounts(), { id }, { balanse: 1 } as never)],
      ["a change of the version", (id) => updateIf(accounts(), { id }, { version: 7 })],
      [
        "a related row named by other columns than its key",
        () => updateIf(db.dataSource.getRepository(OrderLine), { order: { customer: "ada" } }, { quantity: increment(1) }),
      ],
      ["a calculated change of the version", (id) => updateIf(accounts(), { id }, { version: increment(1) })],
      ["a raw change of the version", (id) => updateIf(accounts(), { id }, { version: () => "version + 5" })],
      ["a change of the primary key", (id) => updateIf(accounts(), { id }, { id: id + 1 })],
      ["a column TypeORM never updates", (id) => updateIf(accounts(), { id }, { openedYear: 2020 })],
      ["a one-to-many relation", () => updateIf(db.dataSource.getRepository(Order), { id: 1 }, { lines: [] })],
      ["a negative amount", (id) => updateIf(accounts(), { id }, { balance: decrement(-100) })],
      ["a fractional amount on an integer column", (id) => updateIf(accounts(), { id }, { balance: increment(1.5) })],
      ["NaN", (id) => updateIf(accounts(), { id }, { balance: increment(Number.NaN) })],
      ["Infinity", (id) => updateIf(accounts(), { id }, { balance: increment(Infinity) })],
      ["a numeric string amount", (id) => updateIf(accounts(), { id }, { balance: increment("100" as never) })],
      ["an SQL amount", (id) => updateIf(accounts(), { id }, { balance: decrement("1; DELETE FROM account" as never) })],
      ["increment() on a text column", (id) => updateIf(accounts(), { id }, { owner: increment(1) as never })],
      ["expectedRows 0", (id) => updateIf(accounts(), { id }, { balance: increment(1) }, { expectedRows: 0 })],
      ["expectedRows 1.5", (id) => updateIf(accounts(), { id }, { balance: increment(1) }, { expectedRows: 1.5 })],
      ["expectedRows as a string", (id) => updateIf(accounts(), { id }, { balance: increment(1) }, { expectedRows: "1" as never })],
      ["an unknown option", (id) => updateIf(accounts(), { id }, { balance: increment(1) }, { expected: 1 } as never)],
    ];

    /** Writes the library cannot guard; every other case is an argument mistake (InvalidArgumentError). */
    const refusedAsUnguarded = new Set<string>([
      "a change of the version",
      "a calculated change of the version",
      "a raw change of the version",
    ]);

    it.each(cases)("refuses %s", async (_label, attempt) => {
      const { id } = await newAccount(100);
      db.log.clear();
      const error = await attempt(id).catch((e: unknown) => e);
      const expected = refusedAsUnguarded.has(_label) ? UnguardedWriteError : InvalidArgumentError;
      expect(error).toBeInstanceOf(expected);
      expect(error).toMatchObject({ name: expected.name, operation: "updateIf" });
      expect(db.log.queries).toEqual([]);
      expect(await stored(id)).toMatchObject({ balance: 100, version: 1 });
    });
  });

  describe("the withdrawal race", () => {
    let racers: Racers;
    beforeAll(async () => {
      racers = await startRacers(db);
    });
    afterAll(async () => racers?.stop());

    it("lets exactly two of 12 concurrent withdrawals of 100 from 250 succeed, round after round", async () => {
      for (let round = 0; round < 5; round++) {
        const { id } = await newAccount(250, `race-${round}`);
        const outcomes = await racers.run("withdrawMany", id, 6, 100);
        expect(outcomes).toHaveLength(12);
        const failures = outcomes.filter((outcome) => !outcome.ok);
        expect(outcomes.filter((outcome) => outcome.ok)).toHaveLength(2);
        expect(failures.map((outcome) => outcome.error)).toEqual(Array(10).fill("ConditionNotMetError"));
        expect(failures.every((outcome) => outcome.message?.endsWith("the row exists"))).toBe(true);
        expect(await stored(id)).toMatchObject({ balance: 50, version: 3 });
      }
    });

    it("on a member row: exactly two of 12 take 100 from 250, and the root moved once per success", async () => {
      const orders = db.dataSource.getRepository(Order);
      for (let round = 0; round < 5; round++) {
        const order = await orders.save(orders.create({ customer: `race-${round}`, lines: [{ product: "stock", quantity: 250 }] }));
        const outcomes = await racers.run("takeFromLineMany", order.lines[0].id, 6, 100);
        expect(outcomes).toHaveLength(12);
        expect(outcomes.filter((outcome) => outcome.ok)).toHaveLength(2);
        expect(outcomes.filter((outcome) => !outcome.ok).map((outcome) => outcome.error)).toEqual(Array(10).fill("ConditionNotMetError"));
        const stored = await orders.findOneOrFail({ where: { id: order.id }, relations: { lines: true } });
        expect({ version: stored.version, quantity: stored.lines[0].quantity }).toEqual({ version: 3, quantity: 50 });
      }
    });
  });
});
