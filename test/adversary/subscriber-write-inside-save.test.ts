import { Column, Entity, EventSubscriber, PrimaryGeneratedColumn, type EntitySubscriberInterface, type UpdateEvent } from "typeorm";
import { StaleDataError, VersionColumn, updateVersioned } from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { eachDriver } from "../support/each-driver";

@Entity()
class Article {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") title!: string;
  @Column("integer") stars!: number;
  @Column("varchar", { default: "none" }) audit!: string;
  @VersionColumn() version!: number;
}

/** Records who renamed an article, through the save's own transaction (event.manager), checked by version. */
@EventSubscriber()
class RenameAudit implements EntitySubscriberInterface<Article> {
  listenTo() {
    return Article;
  }
  async afterUpdate(event: UpdateEvent<Article>) {
    if (!event.updatedColumns.some((column) => column.propertyName === "title")) return;
    const article = event.entity as Article;
    await updateVersioned(
      event.manager.getRepository(Article),
      { id: article.id, version: article.version },
      { audit: `renamed to ${article.title}` },
    );
  }
}

/**
 * Adversary finding (a copy stamped current that is not): a subscriber writes to the row inside the
 * save's own transaction (an audit column, through `updateVersioned` on `event.manager`, with the
 * version the save just wrote: the version moves once per transaction, so the row stays at 2). After
 * the save, the library stamps every object of the unit as current — "the database now holds what
 * they hold" — at version 2, though the object still holds `audit: "none"`. The next save of that same
 * object (another field) passes `WHERE version = 2` and TypeORM writes `audit = 'none'` back: the
 * subscriber's write is silently reverted.
 * (recordUnitWrites stamps after TypeORM's after-events, so the subscriber's write, recorded earlier,
 * counts as "seen" by the object.)
 * A correct library does not vouch for an object when the row was written after the unit's own
 * statement in the same transaction (stamp the unit's objects with the tick of their own write, taken
 * before the after-events; or record the after-event writes as writes the object does not show), so
 * the second save raises StaleDataError and the audit stays.
 */
eachDriver(undefined, { mariadb: true })("a subscriber writing inside the save's transaction on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: [Article] });
    db.dataSource.subscribers.push(new RenameAudit());
  });
  afterAll(async () => db?.close());

  it("the saved object does not revert the subscriber's write on its next save", async () => {
    const articles = db.dataSource.getRepository(Article);
    const article = await articles.save(articles.create({ title: "a", stars: 1 }));
    article.title = "b";
    await articles.save(article);
    expect(await articles.findOneByOrFail({ id: article.id })).toMatchObject({ audit: "renamed to b", version: 2 });
    expect(article).toMatchObject({ audit: "none", version: 2 });
    article.stars = 5;
    const error = await articles.save(article).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StaleDataError);
    expect(await articles.findOneByOrFail({ id: article.id })).toMatchObject({ title: "b", stars: 1, audit: "renamed to b", version: 2 });
  });
});
