import { StaleDataError, updateVersioned } from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { eachDriver } from "../support/each-driver";
import { Account, writeEntities } from "../writes/support/entities";

/**
 * Adversary finding (issue 14 section 2, through another door): a copy TypeORM hydrates with its
 * listeners off (`createQueryBuilder(…).callListeners(false)`) gets no read stamp — stamps are set
 * by an afterLoad subscriber — so it is judged like an object built by hand: its version is the
 * claim. The README's If-Match idiom over such a copy (read at 1; the row moves to 2 with balance 70;
 * the client's If-Match says 2) saves the copy's old balance (100) with `WHERE version = 2`: the
 * previous write is silently undone.
 * A correct library stamps every hydrated copy whatever the caller asked of listeners (e.g. from the
 * raw-results transformer, not a subscriber) and refuses this save with StaleDataError ("read at 1").
 */
eachDriver(undefined, { mariadb: true })("a copy read with listeners off on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: writeEntities });
  });
  afterAll(async () => db?.close());

  it("is refused when given a newer version than it was read at", async () => {
    const accounts = db.dataSource.getRepository(Account);
    const { id } = await accounts.save(accounts.create({ owner: "ada", balance: 100 }));
    const copy = await accounts.createQueryBuilder("account").callListeners(false).where("account.id = :id", { id }).getOneOrFail();
    await updateVersioned(accounts, { id, version: 1 }, { balance: 70 });
    copy.version = 2; // If-Match from a client that saw version 2
    copy.owner = "grace";
    const error = await accounts.save(copy).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StaleDataError);
    expect(await accounts.findOneByOrFail({ id })).toMatchObject({ balance: 70, owner: "ada", version: 2 });
  });
});
