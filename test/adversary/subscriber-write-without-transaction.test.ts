import { EventSubscriber, type DataSource, type EntitySubscriberInterface, type UpdateEvent } from "typeorm";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { enabledDrivers } from "../support/drivers";
import { Doc, PlainCounter, coreEntities } from "../support/entities/core";

/** What the subscriber does before Doc's UPDATE: write an audit row; the test adds a concurrent writer. */
let beforeDocUpdate: ((event: UpdateEvent<Doc>) => Promise<void>) | undefined;

@EventSubscriber()
class AuditDocUpdates implements EntitySubscriberInterface<Doc> {
  listenTo() {
    return Doc;
  }
  async beforeUpdate(event: UpdateEvent<Doc>): Promise<void> {
    await beforeDocUpdate?.(event);
  }
}

/**
 * Adversary finding: `save(doc, { transaction: false })` of one versioned row with a subscriber that
 * writes during the save (an audit row in beforeUpdate, a common pattern). The library counts the
 * call as one checked statement and lets it run without a transaction; another user commits between
 * TypeORM's pre-load and the checked UPDATE; the save raises StaleDataError and the audit row it
 * wrote stays. Inside a caller's transaction the library gives such a call a savepoint because of the
 * subscriber (call-atomicity.ts, `listensToWrites`), so it does count subscriber writes as part of
 * the save; with `{ transaction: false }` it does not.
 * Promise: a save that raises leaves nothing of itself behind; a `{ transaction: false }` call that
 * would write more than one statement is refused with TransactionRequiredError.
 * Likely cause: src/persistence/call-atomicity.ts, mode "none": `writes <= 1` returns before `listeners` is
 * considered; with write listeners the call should be refused like any multi-statement call.
 */
describe.each(enabledDrivers({ mariadb: true }))("a save without transaction whose subscriber writes on %s", (driver) => {
  let db: TestDatabase;
  let app: DataSource;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: coreEntities });
    app = await db.open({ entities: coreEntities, subscribers: [AuditDocUpdates] });
  });
  afterAll(async () => db?.close());

  it("raises and leaves no audit row behind, or is refused up front", async () => {
    const docs = app.getRepository(Doc);
    const doc = await docs.save(docs.create({ title: "a" }));
    const auditsBefore = await app.getRepository(PlainCounter).count();
    beforeDocUpdate = async (event) => {
      beforeDocUpdate = undefined;
      await event.manager.save(PlainCounter, { value: 1 }); // the audit row
      const other = db.dataSource.getRepository(Doc); // another user, another connection
      const theirs = await other.findOneByOrFail({ id: doc.id });
      theirs.title = "theirs";
      await other.save(theirs);
    };
    doc.title = "mine";
    const error = await docs.save(doc, { transaction: false }).then(
      () => undefined,
      (caught: Error) => caught,
    );
    beforeDocUpdate = undefined;
    expect(error?.name).toMatch(/^(StaleDataError|TransactionRequiredError)$/);
    expect(await app.getRepository(PlainCounter).count()).toBe(auditsBefore);
  });
});
