import {
  InvalidArgumentError,
  InvalidVersionError,
  MissingVersionError,
  StaleDataError,
  UnguardedWriteError,
  deleteVersioned,
  updateVersioned,
} from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { eachDriver } from "../support/each-driver";
import { Invoice, InvoiceLine, Order, OrderLine } from "../support/entities/aggregate";
import { Account, Listing, PlainAccount, writeEntities } from "./support/entities";
import { startRacers, type Racers } from "./support/racers";

eachDriver(undefined, { mariadb: true })("updateVersioned / deleteVersioned on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: writeEntities });
  });
  afterAll(async () => db?.close());

  const accounts = () => db.dataSource.getRepository(Account);
  const stored = (id: number) => accounts().findOneBy({ id });
  const newAccount = (balance = 100) => accounts().save(accounts().create({ owner: "ada", balance }));

  it("writes in one UPDATE checked against the version, nothing read, and returns the new version", async () => {
    const { id } = await newAccount();
    let result: unknown;
    const statements = await db.log.capture(async () => {
      result = await updateVersioned(accounts(), { id, version: 1 }, { balance: 80, owner: "grace" });
    });
    expect(result).toEqual({ version: 2 });
    expect(statements).toHaveLength(1);
    expect(statements[0]).toMatch(/^UPDATE /);
    expect(statements[0]).toMatch(/version\W* = /);
    expect(await stored(id)).toMatchObject({ balance: 80, owner: "grace", version: 2 });
  });

  it("writes transformed, embedded and JSON columns as save() does, and moves the update date", async () => {
    const listings = db.dataSource.getRepository(Listing);
    const viaSave = await listings.save(listings.create({ code: "a", price: { cents: 1, currency: "EUR" }, tags: [] }));
    const viaUpdate = await listings.save(listings.create({ code: "a", price: { cents: 1, currency: "EUR" }, tags: [] }));
    const changes = { code: "b-2", price: { cents: 250, currency: "USD" }, tags: ["x", "y"] };
    await listings.save(Object.assign(viaSave, changes));
    const statements = await db.log.capture(() => updateVersioned(listings, { id: viaUpdate.id, version: 1 }, changes));
    expect(statements).toHaveLength(1);
    expect(statements[0]).toMatch(/updatedAt\W* = CURRENT_TIMESTAMP/);
    const [saved, updated] = [await listings.findOneByOrFail({ id: viaSave.id }), await listings.findOneByOrFail({ id: viaUpdate.id })];
    const { id: _a, updatedAt: _b, ...expected } = saved;
    expect(updated).toMatchObject({ ...expected, code: "B-2", version: 2 });
    expect(updated.updatedAt).toBeInstanceOf(Date);
    // The statement text is kept per shape: a second call with other values writes those.
    await updateVersioned(listings, { id: viaUpdate.id, version: 2 }, { ...changes, tags: ["z"] });
    expect(await listings.findOneByOrFail({ id: viaUpdate.id })).toMatchObject({ tags: ["z"], version: 3 });
  });

  it("raises StaleDataError on an outdated version and writes nothing", async () => {
    const { id } = await newAccount();
    await updateVersioned(accounts(), { id, version: 1 }, { balance: 90 });
    const error = await updateVersioned(accounts(), { id, version: 1 }, { balance: 10 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StaleDataError);
    expect(error).toMatchObject({ entityName: "Account", primaryKey: { id }, expectedVersion: 1, actualVersion: 2, operation: "update" });
    expect(await stored(id)).toMatchObject({ balance: 90, version: 2 });
  });

  it("raises StaleDataError with actualVersion null when the row is gone", async () => {
    const { id } = await newAccount();
    await accounts().delete({ id });
    await expect(updateVersioned(accounts(), { id, version: 1 }, { balance: 1 })).rejects.toMatchObject({
      name: "StaleDataError",
      actualVersion: null,
    });
  });

  it("deleteVersioned: one DELETE checked against the version; stale or gone raise StaleDataError", async () => {
    const { id } = await newAccount();
    await updateVersioned(accounts(), { id, version: 1 }, { balance: 5 });
    const stale = await deleteVersioned(accounts(), { id, version: 1 }).catch((e: unknown) => e);
    expect(stale).toMatchObject({ name: "StaleDataError", expectedVersion: 1, actualVersion: 2, operation: "delete" });
    expect(await stored(id)).not.toBeNull();
    const statements = await db.log.capture(() => deleteVersioned(accounts(), { id, version: 2 }));
    expect(statements).toHaveLength(1);
    expect(statements[0]).toMatch(/^DELETE /);
    expect(await stored(id)).toBeNull();
    await expect(deleteVersioned(accounts(), { id, version: 2 })).rejects.toMatchObject({ name: "StaleDataError", actualVersion: null });
  });

  it("joins the caller's transaction: a caught StaleDataError and a commit leave nothing of it, a rollback undoes it", async () => {
    const { id } = await newAccount();
    await db.dataSource.transaction(async (manager) => {
      const repository = manager.getRepository(Account);
      await expect(updateVersioned(repository, { id, version: 7 }, { balance: 1 })).rejects.toBeInstanceOf(StaleDataError);
      await updateVersioned(repository, { id, version: 1 }, { balance: 70 });
    });
    expect(await stored(id)).toMatchObject({ balance: 70, version: 2 });
    await db.dataSource
      .transaction(async (manager) => {
        await updateVersioned(manager.getRepository(Account), { id, version: 2 }, { balance: 0 });
        throw new Error("give up");
      })
      .catch(() => undefined);
    expect(await stored(id)).toMatchObject({ balance: 70, version: 2 });
  });

  describe("bad input: a typed error, nothing sent", () => {
    const cases: [string, (id: number) => Promise<unknown>, Function][] = [
      // @ts-expect-error the key type requires the version: this is the run-time check behind it
      ["no version", (id) => updateVersioned(accounts(), { id }, { balance: 1 }), MissingVersionError],
      [
        "a version given as a string",
        (id) => updateVersioned(accounts(), { id, version: "1" as never }, { balance: 1 }),
        InvalidVersionError,
      ],
      ["a fractional version", (id) => updateVersioned(accounts(), { id, version: 1.5 }, { balance: 1 }), InvalidVersionError],
      [
        "a version beyond the column's range",
        (id) => updateVersioned(accounts(), { id, version: 2 ** 53 }, { balance: 1 }),
        InvalidVersionError,
      ],
      // @ts-expect-error the key type requires the whole primary key: this is the run-time check behind it
      ["no primary key", () => updateVersioned(accounts(), { version: 1 }, { balance: 1 }), InvalidArgumentError],
      ["a key that is not an object", () => updateVersioned(accounts(), 7 as never, { balance: 1 }), InvalidArgumentError],
      [
        "other fields in the key",
        // @ts-expect-error the key type allows no other property: this is the run-time check behind it
        (id) => updateVersioned(accounts(), { id, version: 1, owner: "ada" }, { balance: 1 }),
        InvalidArgumentError,
      ],
      [
        "an entity without typeorm-occ's version",
        (id) => updateVersioned(db.dataSource.getRepository(PlainAccount), { id, version: 1 } as never, { balance: 1 }),
        InvalidArgumentError,
      ],
      ["a change of the version", (id) => updateVersioned(accounts(), { id, version: 1 }, { version: 5 }), UnguardedWriteError],
      ["a change of the primary key", (id) => updateVersioned(accounts(), { id, version: 1 }, { id: id + 1 }), InvalidArgumentError],
      [
        "an unknown property in changes",
        (id) => updateVersioned(accounts(), { id, version: 1 }, { balanse: 1 } as never),
        InvalidArgumentError,
      ],
      ["an undefined change", (id) => updateVersioned(accounts(), { id, version: 1 }, { balance: undefined }), InvalidArgumentError],
      ["no changes", (id) => updateVersioned(accounts(), { id, version: 1 }, {}), InvalidArgumentError],
      [
        "a column TypeORM never updates",
        (id) => updateVersioned(accounts(), { id, version: 1 }, { openedYear: 2020 }),
        InvalidArgumentError,
      ],
      // @ts-expect-error the key type requires the version: this is the run-time check behind it
      ["deleteVersioned without a version", (id) => deleteVersioned(accounts(), { id }), MissingVersionError],
      [
        "a member moved to another root",
        () => updateVersioned(db.dataSource.getRepository(InvoiceLine), { id: 1, version: 1 }, { invoice: { id: 2 } as Invoice }),
        UnguardedWriteError,
      ],
      [
        "a member without a version of its own",
        () => updateVersioned(db.dataSource.getRepository(OrderLine), { id: 1, version: 1 } as never, { quantity: 2 }),
        InvalidArgumentError,
      ],
    ];

    it.each(cases)("refuses %s", async (_label, attempt, type) => {
      const { id } = await newAccount(100);
      db.log.clear();
      const error = await attempt(id).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(type);
      expect(db.log.queries).toEqual([]);
      expect(await stored(id)).toMatchObject({ balance: 100, version: 1 });
    });
  });

  describe("messages (issue 17)", () => {
    const messageOf = async (attempt: Promise<unknown>) => ((await attempt.catch((e: unknown) => e)) as Error).message;

    it("a change of the version names the column once and says why", async () => {
      const { id } = await newAccount();
      expect(await messageOf(updateVersioned(accounts(), { id, version: 1 }, { version: 5 }))).toBe(
        "Account: updateVersioned refused: changes sets version, the version column: updateVersioned moves it by itself, by 1, in the same statement",
      );
    });

    it("a key without a version speaks of the call and its key", async () => {
      const { id } = await newAccount();
      // @ts-expect-error the key type requires the version: this is the run-time check behind it
      const update = await messageOf(updateVersioned(accounts(), { id }, { balance: 1 }));
      expect(update).toBe(
        `Account#${id}: the key given to updateVersioned has no version: pass the version the client read beside the primary key, e.g. { id: ${id}, version: 3 } (from If-Match: parseIfMatch())`,
      );
      expect(update).not.toMatch(/saving or removing/);
      // @ts-expect-error the key type requires the version: this is the run-time check behind it
      expect(await messageOf(deleteVersioned(accounts(), { id }))).toMatch(/^Account#\d+: the key given to deleteVersioned has no version/);
    });

    it("a key without its id is an InvalidArgumentError naming the missing column", async () => {
      // @ts-expect-error the key type requires the whole primary key: this is the run-time check behind it
      const error = await updateVersioned(accounts(), { version: 1 }, { balance: 1 }).catch((e: unknown) => e);
      expect(error).toMatchObject({
        name: "InvalidArgumentError",
        code: "invalid-argument",
        entityName: "Account",
        operation: "updateVersioned",
      });
      expect((error as Error).message).toBe("Account: updateVersioned: the key has no id (the whole primary key names the row)");
    });
  });

  describe("aggregates", () => {
    const invoices = () => db.dataSource.getRepository(Invoice);
    const newInvoice = () => invoices().save(invoices().create({ number: "n", lines: [{ amount: 1 }, { amount: 2 }] }));
    const load = (id: number) => invoices().findOneOrFail({ where: { id }, relations: { lines: true }, order: { lines: { id: "ASC" } } });

    it("a member row moves its root's version by one, in one transaction with the row", async () => {
      const invoice = await newInvoice();
      const [line] = invoice.lines;
      expect(await updateVersioned(db.dataSource.getRepository(InvoiceLine), { id: line.id, version: 1 }, { amount: 9 })).toEqual({
        version: 2,
      });
      const after = await load(invoice.id);
      expect(after.version).toBe(2);
      expect(after.lines.map((l) => [l.amount, l.version])).toEqual([
        [9, 2],
        [2, 1],
      ]);
    });

    it("a stale member write leaves its root where it was, also when the caller catches the error and commits", async () => {
      const invoice = await newInvoice();
      const [line] = invoice.lines;
      const lines = db.dataSource.getRepository(InvoiceLine);
      await expect(updateVersioned(lines, { id: line.id, version: 7 }, { amount: 9 })).rejects.toMatchObject({
        name: "StaleDataError",
        actualVersion: 1,
      });
      await db.dataSource.transaction(async (manager) => {
        await expect(deleteVersioned(manager.getRepository(InvoiceLine), { id: line.id, version: 7 })).rejects.toBeInstanceOf(
          StaleDataError,
        );
      });
      expect((await load(invoice.id)).version).toBe(1);
      expect((await load(invoice.id)).lines).toHaveLength(2);
    });

    it("moves the root once per transaction, with two member writes and a root write against the version read", async () => {
      const invoice = await newInvoice();
      const [a, b] = invoice.lines;
      await db.dataSource.transaction(async (manager) => {
        await updateVersioned(manager.getRepository(InvoiceLine), { id: a.id, version: 1 }, { amount: 10 });
        await deleteVersioned(manager.getRepository(InvoiceLine), { id: b.id, version: 1 });
        expect(await updateVersioned(manager.getRepository(Invoice), { id: invoice.id, version: 1 }, { number: "m" })).toEqual({
          version: 2,
        });
      });
      const after = await load(invoice.id);
      expect({ version: after.version, number: after.number, lines: after.lines.map((l) => l.amount) }).toEqual({
        version: 2,
        number: "m",
        lines: [10],
      });
    });

    it("a holder of the root's old version goes stale after a member write", async () => {
      const invoice = await load((await newInvoice()).id);
      await updateVersioned(db.dataSource.getRepository(InvoiceLine), { id: invoice.lines[1].id, version: 1 }, { amount: 20 });
      invoice.lines[0].amount = 30;
      await expect(invoices().save(invoice)).rejects.toBeInstanceOf(StaleDataError);
      expect((await load(invoice.id)).lines.map((l) => l.amount)).toEqual([1, 20]);
    });

    it("a root row written this way is a change of its aggregate", async () => {
      const orders = db.dataSource.getRepository(Order);
      const order = await orders.save(orders.create({ customer: "ada", lines: [{ product: "tea", quantity: 1, notes: [] }] }));
      const copy = await orders.findOneOrFail({ where: { id: order.id }, relations: { lines: true } });
      await updateVersioned(orders, { id: order.id, version: 1 }, { customer: "grace" });
      copy.lines[0].quantity = 2;
      await expect(orders.save(copy)).rejects.toBeInstanceOf(StaleDataError);
    });
  });

  describe("concurrent writers with one version", () => {
    let racers: Racers;
    beforeAll(async () => {
      racers = await startRacers(db);
    });
    afterAll(async () => racers?.stop());

    it("exactly one of 12 concurrent writes against the same version lands, round after round", async () => {
      for (let round = 0; round < 5; round++) {
        const { id } = await newAccount(1000);
        const outcomes = await racers.run("updateVersionedMany", id, 1, 1000, 6);
        expect(outcomes).toHaveLength(12);
        const winners = outcomes.filter((outcome) => outcome.ok);
        expect(winners).toHaveLength(1);
        expect(outcomes.filter((outcome) => !outcome.ok).map((outcome) => outcome.error)).toEqual(Array(11).fill("StaleDataError"));
        expect(await stored(id)).toMatchObject({ version: 2 });
      }
    });
  });
});
