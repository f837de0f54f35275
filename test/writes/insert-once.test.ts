import { QueryFailedError } from "typeorm";
import { StaleDataError, InvalidArgumentError, UnguardedWriteError, insertOnce } from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { eachDriver } from "../support/each-driver";
import { Booking, Ledger, LedgerEntry, Payment, Setting, writeEntities } from "./support/entities";
import { startRacers, type Racers } from "./support/racers";

eachDriver(undefined, { mariadb: true })("insertOnce on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: writeEntities });
  });
  afterAll(async () => db?.close());

  const payments = () => db.dataSource.getRepository(Payment);

  it("inserts a new row and resolves to it as stored, at version 1", async () => {
    let result!: Awaited<ReturnType<typeof insertOnce<Payment>>>;
    const statements = await db.log.capture(async () => {
      result = await insertOnce(payments(), { idempotencyKey: "first", amount: 500 }, { conflictPaths: ["idempotencyKey"] });
    });
    expect(result.created).toBe(true);
    expect(result.entity).toBeInstanceOf(Payment);
    expect(result.entity).toMatchObject({ id: expect.any(Number), idempotencyKey: "first", amount: 500, status: "new", version: 1 });
    expect(statements).toHaveLength(2);
    expect(statements[0]).toMatch(/^INSERT INTO/);
    if (driver === "mariadb") expect(statements[0]).not.toMatch(/IGNORE|ON DUPLICATE/);
    else expect(statements[0]).toMatch(/ON CONFLICT \( ?"idempotencyKey" ?\) DO NOTHING/);
    expect(statements[1]).toMatch(/^SELECT/);
  });

  it("returns the stored row, unchanged, when the key exists", async () => {
    const first = await insertOnce(payments(), { idempotencyKey: "again", amount: 100 }, { conflictPaths: ["idempotencyKey"] });
    await payments().save(Object.assign(first.entity, { status: "paid" }));
    const second = await insertOnce(payments(), { idempotencyKey: "again", amount: 999 }, { conflictPaths: ["idempotencyKey"] });
    expect(second).toEqual({
      created: false,
      entity: expect.objectContaining({ id: first.entity.id, amount: 100, status: "paid", version: 2 }),
    });
    expect(await payments().countBy({ idempotencyKey: "again" })).toBe(1);
  });

  it("works with a composite unique constraint and with a natural primary key", async () => {
    const bookings = db.dataSource.getRepository(Booking);
    const a = await insertOnce(bookings, { tenant: "t1", reference: "r1", note: "first" }, { conflictPaths: ["tenant", "reference"] });
    const b = await insertOnce(bookings, { tenant: "t1", reference: "r1", note: "second" }, { conflictPaths: ["reference", "tenant"] });
    const c = await insertOnce(
      bookings,
      { tenant: "t2", reference: "r1", note: "other tenant" },
      { conflictPaths: ["tenant", "reference"] },
    );
    expect([a.created, b.created, c.created]).toEqual([true, false, true]);
    expect(b.entity).toMatchObject({ id: a.entity.id, note: "first" });
    expect(c.entity.id).not.toBe(a.entity.id);

    const settings = db.dataSource.getRepository(Setting);
    expect(await insertOnce(settings, { name: "theme", value: "dark" }, { conflictPaths: ["name"] })).toEqual({
      created: true,
      entity: expect.objectContaining({ name: "theme", value: "dark", version: 1 }),
    });
    expect(await insertOnce(settings, { name: "theme", value: "light" }, { conflictPaths: ["name"] })).toMatchObject({
      created: false,
      entity: { value: "dark" },
    });
  });

  it("joins the caller's transaction", async () => {
    await db.dataSource
      .transaction(async (manager) => {
        const { created } = await insertOnce(
          manager.getRepository(Payment),
          { idempotencyKey: "tx", amount: 1 },
          { conflictPaths: ["idempotencyKey"] },
        );
        expect(created).toBe(true);
        expect(
          await insertOnce(manager.getRepository(Payment), { idempotencyKey: "tx", amount: 2 }, { conflictPaths: ["idempotencyKey"] }),
        ).toMatchObject({
          created: false,
          entity: { amount: 1 },
        });
        throw new Error("roll back");
      })
      .catch(() => undefined);
    expect(await payments().countBy({ idempotencyKey: "tx" })).toBe(0);
  });

  it("raises a conflict on another unique key as the database reports it", async () => {
    const settings = db.dataSource.getRepository(Setting);
    await insertOnce(settings, { name: "owner", value: "1", alias: "taken" }, { conflictPaths: ["name"] });
    const error = await insertOnce(settings, { name: "newcomer", value: "2", alias: "taken" }, { conflictPaths: ["name"] }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(QueryFailedError);
    expect(await settings.countBy({ name: "newcomer" })).toBe(0);
  });

  describe("an aggregate member", () => {
    const ledgers = () => db.dataSource.getRepository(Ledger);
    const entries = () => db.dataSource.getRepository(LedgerEntry);
    const entry = (ledger: Ledger, key: string) => ({ idempotencyKey: key, amount: 5, ledger: { id: ledger.id } as Ledger });

    it("moves its root when it inserts, and nothing when the row exists", async () => {
      const ledger = await ledgers().save(ledgers().create({ name: "a" }));
      const first = await insertOnce(entries(), entry(ledger, `m-${ledger.id}`), { conflictPaths: ["idempotencyKey"] });
      const again = await insertOnce(entries(), entry(ledger, `m-${ledger.id}`), { conflictPaths: ["idempotencyKey"] });
      expect([first.created, again.created, again.entity.id]).toEqual([true, false, first.entity.id]);
      expect((await ledgers().findOneByOrFail({ id: ledger.id })).version).toBe(2);
      expect(await entries().countBy({ ledger: { id: ledger.id } })).toBe(1);
    });

    it("a holder of the root's old version goes stale", async () => {
      const ledger = await ledgers().save(ledgers().create({ name: "a" }));
      await insertOnce(entries(), entry(ledger, `s-${ledger.id}`), { conflictPaths: ["idempotencyKey"] });
      ledger.name = "b";
      await expect(ledgers().save(ledger)).rejects.toBeInstanceOf(StaleDataError);
    });

    it("20 concurrent calls with one key: one row, and the root moved once", async () => {
      for (let round = 0; round < 3; round++) {
        const ledger = await ledgers().save(ledgers().create({ name: "race" }));
        const results = await Promise.all(
          Array.from({ length: 20 }, () => insertOnce(entries(), entry(ledger, `r-${ledger.id}`), { conflictPaths: ["idempotencyKey"] })),
        );
        expect(results.filter((result) => result.created)).toHaveLength(1);
        expect(new Set(results.map((result) => result.entity.id)).size).toBe(1);
        expect((await ledgers().findOneByOrFail({ id: ledger.id })).version).toBe(2);
      }
    });
  });

  describe("bad input: a typed error, nothing sent", () => {
    const key = { conflictPaths: ["idempotencyKey"] as Array<keyof Payment & string> };
    const cases: Array<[string, () => Promise<unknown>]> = [
      ["a version in values", () => insertOnce(payments(), { idempotencyKey: "v", amount: 1, version: 5 }, key)],
      ["values that are not an object", () => insertOnce(payments(), "x" as never, key)],
      ["an unknown property", () => insertOnce(payments(), { idempotencyKey: "u", amount: 1, amout: 2 } as never, key)],
      ["no options", () => insertOnce(payments(), { idempotencyKey: "o", amount: 1 }, undefined as never)],
      ["empty conflictPaths", () => insertOnce(payments(), { idempotencyKey: "e", amount: 1 }, { conflictPaths: [] })],
      ["an unknown conflict path", () => insertOnce(payments(), { idempotencyKey: "k", amount: 1 }, { conflictPaths: ["key" as never] })],
      [
        "conflictPaths without a unique constraint",
        () => insertOnce(payments(), { idempotencyKey: "n", amount: 1 }, { conflictPaths: ["amount"] }),
      ],
      ["a conflict path without a value", () => insertOnce(payments(), { amount: 1 }, key)],
      ["a null conflict value", () => insertOnce(payments(), { idempotencyKey: null as never, amount: 1 }, key)],
      [
        "part of a composite unique constraint",
        () => insertOnce(db.dataSource.getRepository(Booking), { tenant: "t", reference: "r", note: "n" }, { conflictPaths: ["tenant"] }),
      ],
    ];

    /** Writes the library cannot guard; every other case is an argument mistake (InvalidArgumentError). */
    const refusedAsUnguarded = new Set<string>(["a version in values"]);

    it.each(cases)("refuses %s", async (_label, attempt) => {
      db.log.clear();
      const error = await attempt().catch((e: unknown) => e);
      const expected = refusedAsUnguarded.has(_label) ? UnguardedWriteError : InvalidArgumentError;
      expect(error).toBeInstanceOf(expected);
      expect(error).toMatchObject({ name: expected.name, operation: "insertOnce" });
      expect(db.log.queries).toEqual([]);
    });
  });

  describe("20 concurrent calls with one key", () => {
    let racers: Racers;
    beforeAll(async () => {
      racers = await startRacers(db);
    });
    afterAll(async () => racers?.stop());

    it("create exactly one row, and all 20 resolve to it, round after round", async () => {
      for (let round = 0; round < 5; round++) {
        const key = `race-${round}`;
        const outcomes = await racers.run("insertOnceMany", key, 10);
        expect(outcomes).toHaveLength(20);
        expect(outcomes.filter((outcome) => !outcome.ok)).toEqual([]);
        const results = outcomes.map((outcome) => outcome.value as { created: boolean; id: number; amount: number; version: number });
        expect(results.filter((result) => result.created)).toHaveLength(1);
        const stored = await payments().findOneByOrFail({ idempotencyKey: key });
        expect(results.every((result) => result.id === stored.id && result.amount === stored.amount && result.version === 1)).toBe(true);
        expect(await payments().countBy({ idempotencyKey: key })).toBe(1);
      }
    });
  });
});
