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
    const created = await orders.save(
      orders.create({
        note: "n",
        lines: [
          { label: "a", quantity: 1 },
          { label: "b", quantity: 2 },
        ] as OccStressLine[],
      }),
    );
    const load = () => orders.findOneOrFail({ where: { id: created.id }, relations: { lines: true } });
    const mine = await load();
    const theirs = await load();
    theirs.lines = theirs.lines.filter((line) => line.label !== "a");
    await orders.save(theirs);

    mine.lines = mine.lines.filter((line) => line.label !== "a"); // the same change, from version 1
    const statements = await db.log.capture(async () => {
      await expect(orders.save(mine)).rejects.toBeInstanceOf(StaleDataError);
    });
    // Nothing written: at most the root's checked UPDATE went out (a copy's read stands in for the pre-load), matching no row.
    expect(statements.filter((sql) => /^\s*(INSERT|DELETE)\b/i.test(sql))).toEqual([]);
    expect(
      statements.filter((sql) => /^\s*UPDATE\b/i.test(sql)).every((sql) => /occ_stress_order/.test(sql) && /"version" = /.test(sql)),
    ).toBe(true);
    expect(mine.version).toBe(1);
    expect((await load()).version).toBe(2);
  });
});
