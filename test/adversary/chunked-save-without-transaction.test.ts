import { StaleDataError } from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { enabledDrivers } from "../support/drivers";
import { Doc, coreEntities } from "../support/entities/core";

/**
 * Adversary finding: `save([a, b], { transaction: false, chunk: 1 })`. Without `chunk` the same call
 * is refused with TransactionRequiredError (two checked statements, no transaction). With `chunk`
 * each chunk is its own unit of one statement, each passes the "one statement" rule, the first one
 * commits, and the second raises StaleDataError: the save raised and left `a` written.
 * Promise: a save that raises leaves nothing of itself behind.
 * Likely cause: src/persistence/call-atomicity.ts counts statements per unit; in mode "none" a chunked call
 * (PersistCallState.chunked) is several units, so it must be refused as a whole when it writes more
 * than one statement in total (or whenever it is chunked).
 */
describe.each(enabledDrivers({ mariadb: true }))("a chunked save with { transaction: false } on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: coreEntities });
  });
  afterAll(async () => db?.close());

  const docs = () => db.dataSource.getRepository(Doc);

  it("control: without chunk it is refused before anything is sent", async () => {
    const [a, b] = await docs().save([docs().create({ title: "a" }), docs().create({ title: "b" })]);
    a.title = "a2";
    b.title = "b2";
    await expect(docs().save([a, b], { transaction: false })).rejects.toMatchObject({ name: "TransactionRequiredError" });
    expect((await docs().findOneByOrFail({ id: a.id })).title).toBe("a");
  });

  it("raises StaleDataError for the second chunk and leaves nothing of the first", async () => {
    const [a, b] = await docs().save([docs().create({ title: "a" }), docs().create({ title: "b" })]);
    const staleB = await docs().findOneByOrFail({ id: b.id });
    const other = await docs().findOneByOrFail({ id: b.id });
    other.title = "someone else";
    await docs().save(other);

    a.title = "written by the failed save";
    staleB.title = "stale";
    const error = await docs()
      .save([a, staleB], { transaction: false, chunk: 1 })
      .then(
        () => undefined,
        (caught: unknown) => caught,
      );
    // Either a refusal up front or the conflict is fine; what must not happen is a partial write.
    expect(error instanceof StaleDataError || (error as Error | undefined)?.name === "TransactionRequiredError").toBe(true);
    expect(await docs().findOneByOrFail({ id: a.id })).toMatchObject({ title: "a", version: 1 });
  });
});
