import {
  InvalidVersionError,
  MissingVersionError,
  StaleDataError,
  InvalidArgumentError,
  deleteVersioned,
  updateVersioned,
} from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { eachDriver } from "../support/each-driver";
import { Invoice, InvoiceLine, aggregateEntities } from "../support/entities/aggregate";

/**
 * Issue 14, section 3 (carried over from the atomic-writes issue): updateVersioned on an aggregate
 * member given its root's version too — `{ id, version, invoice: { id, version } }`, what a client
 * holding the aggregate's ETag sends — was refused. The root's move is now checked against that
 * version: a fresh root passes (moved once, the row written), a stale one raises StaleDataError
 * naming the root and nothing is written. deleteVersioned takes the same key.
 */
eachDriver(undefined, { mariadb: true })("updateVersioned on a member given its root's version on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: aggregateEntities });
  });
  afterAll(async () => db?.close());

  const invoices = () => db.dataSource.getRepository(Invoice);
  const lines = () => db.dataSource.getRepository(InvoiceLine);
  const newInvoice = () => invoices().save(invoices().create({ number: "n", lines: [{ amount: 1 }, { amount: 2 }] }));
  const load = (id: number) => invoices().findOneOrFail({ where: { id }, relations: { lines: true }, order: { lines: { id: "ASC" } } });

  it("reproduction: a fresh root passes: the root moves once (checked against the version given), the row is written", async () => {
    const invoice = await newInvoice();
    const line = invoice.lines[0];
    const statements = await db.log.capture(async () => {
      expect(await updateVersioned(lines(), { id: line.id, version: 1, invoice: { id: invoice.id, version: 1 } }, { amount: 9 })).toEqual({
        version: 2,
      });
    });
    const rootUpdates = statements.filter((sql) => /^UPDATE\s+\S*invoice\S*\s+SET/i.test(sql) && !/invoice_line/i.test(sql));
    expect(rootUpdates).toHaveLength(1);
    expect(await load(invoice.id)).toMatchObject({
      version: 2,
      lines: [
        { amount: 9, version: 2 },
        { amount: 2, version: 1 },
      ],
    });
  });

  it("reproduction: a stale root raises StaleDataError naming the root; nothing is written", async () => {
    const invoice = await newInvoice();
    const line = invoice.lines[0];
    await updateVersioned(invoices(), { id: invoice.id, version: 1 }, { number: "changed" }); // the root moves to 2
    const error = await updateVersioned(lines(), { id: line.id, version: 1, invoice: { id: invoice.id, version: 1 } }, { amount: 9 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StaleDataError);
    expect(error).toMatchObject({ entityName: "Invoice", primaryKey: { id: invoice.id }, expectedVersion: 1, actualVersion: 2 });
    expect(await load(invoice.id)).toMatchObject({
      number: "changed",
      version: 2,
      lines: [
        { amount: 1, version: 1 },
        { amount: 2, version: 1 },
      ],
    });

    const removed = await deleteVersioned(lines(), { id: line.id, version: 1, invoice: { id: invoice.id, version: 1 } }).catch(
      (e: unknown) => e,
    );
    expect(removed).toMatchObject({ name: "StaleDataError", entityName: "Invoice", expectedVersion: 1, actualVersion: 2 });
    expect(await lines().countBy({ id: line.id })).toBe(1);
  });

  it("a stale root is caught even when another line changed it (the line itself still at the version given)", async () => {
    const invoice = await newInvoice();
    const [first, second] = invoice.lines;
    await updateVersioned(lines(), { id: second.id, version: 1, invoice: { id: invoice.id, version: 1 } }, { amount: 5 });
    const error = await updateVersioned(
      lines(),
      { id: first.id, version: 1, invoice: { id: invoice.id, version: 1 } },
      { amount: 9 },
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: "StaleDataError", entityName: "Invoice", expectedVersion: 1, actualVersion: 2 });
    expect(await load(invoice.id)).toMatchObject({
      version: 2,
      lines: [
        { amount: 1, version: 1 },
        { amount: 5, version: 2 },
      ],
    });
  });

  it("deleteVersioned with a fresh root removes the row and moves the root once", async () => {
    const invoice = await newInvoice();
    await deleteVersioned(lines(), { id: invoice.lines[1].id, version: 1, invoice: { id: invoice.id, version: 1 } });
    expect(await load(invoice.id)).toMatchObject({ version: 2, lines: [{ amount: 1 }] });
  });

  it("joins a caller's transaction: written with it, undone by its rollback", async () => {
    const invoice = await newInvoice();
    const key = { id: invoice.lines[0].id, version: 1, invoice: { id: invoice.id, version: 1 } };
    const error = await db.dataSource
      .transaction(async (manager) => {
        await updateVersioned(manager.getRepository(InvoiceLine), key, { amount: 7 });
        throw new Error("caller rolls back");
      })
      .catch((e: unknown) => e);
    expect((error as Error).message).toBe("caller rolls back");
    expect(await load(invoice.id)).toMatchObject({ version: 1, lines: [{ amount: 1, version: 1 }, { amount: 2 }] });
    await db.dataSource.transaction((manager) => updateVersioned(manager.getRepository(InvoiceLine), key, { amount: 7 }));
    expect(await load(invoice.id)).toMatchObject({ version: 2, lines: [{ amount: 7, version: 2 }, { amount: 2 }] });
  });

  it("a root the row is not under is refused, and nothing is written to either aggregate", async () => {
    const mine = await newInvoice();
    const other = await newInvoice();
    const error = await updateVersioned(
      lines(),
      { id: mine.lines[0].id, version: 1, invoice: { id: other.id, version: 1 } },
      { amount: 9 },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toMatch(new RegExp(`names Invoice#${other.id} as its root, but the row is not in that aggregate`));
    expect(await load(mine.id)).toMatchObject({
      version: 1,
      lines: [
        { amount: 1, version: 1 },
        { amount: 2, version: 1 },
      ],
    });
    expect((await load(other.id)).version).toBe(1);
  });

  it.each([
    ["the root without a version", { id: 1 }, MissingVersionError],
    ["the root's version as a string", { id: 1, version: "1" }, InvalidVersionError],
    ["the root by its key alone", 1, InvalidArgumentError],
    ["the root's key of the wrong shape", { id: { id: 1 }, version: 1 }, InvalidArgumentError],
    ["other fields of the root", { id: 1, version: 1, number: "x" }, InvalidArgumentError],
  ])("refuses %s before anything is sent", async (_label, root, type) => {
    const invoice = await newInvoice();
    const key = {
      id: invoice.lines[0].id,
      version: 1,
      invoice:
        root === 1
          ? invoice.id
          : { ...(root as object), id: (root as { id: unknown }).id === 1 ? invoice.id : (root as { id: unknown }).id },
    };
    const statements = await db.log.capture(async () => {
      const error = await updateVersioned(lines(), key as never, { amount: 9 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(type);
    });
    expect(statements).toEqual([]);
  });
});
