import type { EntityManager } from "typeorm";
import { StaleDataError, updateVersioned } from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { eachDriver } from "../support/each-driver";
import { Account, writeEntities } from "../writes/support/entities";

/**
 * Adversary finding (a version naming two states): a copy read inside a transaction after that
 * transaction's own write carries the transaction's version (2) and its uncommitted data. The
 * transaction rolls back; another writer then moves the row from 1 to 2 with other data and commits.
 * The copy — its stamp still says "read at version 2" — is saved: `WHERE version = 2` matches and the
 * rolled-back balance (50) overwrites the committed one (70). The same inside one transaction with a
 * savepoint: a copy read in a nested transaction that rolled back, after the outer transaction had
 * already moved the row (so the savepoint's write kept version 2), writes the rolled-back value back.
 * Rollback restores the stamps of objects the library wrote, but not of copies read in the rolled-back
 * level; their stamp names a transaction (or a level) whose writes never happened.
 * A correct library refuses such a copy with StaleDataError: its data was read after a write that
 * rolled back (e.g. remember rolled-back tokens/levels and treat copies stamped there after a write
 * to their row as stale).
 */
eachDriver(undefined, { mariadb: true })("a copy read in a transaction that rolled back on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: writeEntities });
  });
  afterAll(async () => db?.close());

  const accounts = () => db.dataSource.getRepository(Account);
  const newAccount = () => accounts().save(accounts().create({ owner: "ada", balance: 100 }));

  it("refuses it after another writer committed the same version number", async () => {
    const { id } = await newAccount();
    let inside: Account | undefined;
    await db.dataSource
      .transaction(async (manager: EntityManager) => {
        await updateVersioned(manager.getRepository(Account), { id, version: 1 }, { balance: 50 });
        inside = await manager.findOneByOrFail(Account, { id });
        throw new Error("rolled back");
      })
      .catch(() => undefined);
    expect(inside).toMatchObject({ balance: 50, version: 2 });
    await updateVersioned(accounts(), { id, version: 1 }, { balance: 70 });
    inside!.owner = "grace";
    const error = await accounts()
      .save(inside!)
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StaleDataError);
    expect(await accounts().findOneByOrFail({ id })).toMatchObject({ balance: 70, owner: "ada", version: 2 });
  });

  it("refuses it inside the outer transaction after the savepoint it was read in rolled back", async () => {
    const { id } = await newAccount();
    let inside: Account | undefined;
    let caught: unknown;
    await db.dataSource.transaction(async (manager) => {
      await updateVersioned(manager.getRepository(Account), { id, version: 1 }, { balance: 50 });
      await manager
        .transaction(async (nested) => {
          await updateVersioned(nested.getRepository(Account), { id, version: 2 }, { balance: 60 });
          inside = await nested.findOneByOrFail(Account, { id });
          throw new Error("savepoint rolled back");
        })
        .catch(() => undefined);
      inside!.owner = "grace";
      caught = await manager.save(inside!).catch((error: unknown) => error);
    });
    expect(caught).toBeInstanceOf(StaleDataError);
    expect(await accounts().findOneByOrFail({ id })).toMatchObject({ balance: 50, owner: "ada", version: 2 });
  });
});
