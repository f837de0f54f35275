import { StaleDataError } from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { enabledDrivers } from "../support/drivers";
import { OccStressLine, OccStressOrder, stressEntities } from "../stress/entities";

/**
 * Sequentially, a stale copy whose change is already in the database is refused: the pre-loaded
 * root's version differs from the object's, which is itself a change to check. (The concurrent form —
 * a commit landing between TypeORM's separate pre-load statements of a root and its members — is
 * test/regression/stale-noop-between-preloads.test.ts.)
 */
describe.each(enabledDrivers())("a stale copy with nothing left to write on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: stressEntities });
  });
  afterAll(async () => db?.close());

  it("is refused with StaleDataError and writes nothing", async () => {
    const orders = db.dataSource.getRepository(OccStressOrder);
    const created = await orders.save(orders.create({ note: "n", lines: [{ label: "a", quantity: 1 }, { label: "b", quantity: 2 }] as OccStressLine[] }));
    const load = () => orders.findOneOrFail({ where: { id: created.id }, relations: { lines: true } });
    const mine = await load();
    const theirs = await load();
    theirs.lines = theirs.lines.filter((line) => line.label !== "a");
    await orders.save(theirs);

    mine.lines = mine.lines.filter((line) => line.label !== "a"); // the same change, from version 1
    const statements = await db.log.capture(async () => {
      await expect(orders.save(mine)).rejects.toBeInstanceOf(StaleDataError);
    });
    expect(statements.filter((sql) => /^\s*(INSERT|UPDATE|DELETE)\b/i.test(sql))).toEqual([]);
    expect(mine.version).toBe(1);
    expect((await load()).version).toBe(2);
  });
});
