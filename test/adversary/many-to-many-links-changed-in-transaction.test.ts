import type { EntityManager } from "typeorm";
import { StaleDataError } from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { eachDriver } from "../support/each-driver";
import { Order, Tag, aggregateEntities } from "../support/entities/aggregate";

/**
 * Adversary finding (issue 14 section 1, through many-to-many links): copies o1 and o2 of an
 * order, both read with their tags (`relations: { tags: true }`) before the transaction. Inside it,
 * `save(o1)` adds a tag (a junction row of Order: the root moves 1 → 2); then `save(o2)` with a
 * change of its own passes, and TypeORM diffs o2's old `tags` against the database: the link just
 * added is deleted. The transaction commits, the tag is gone, version 2.
 * The junction write is recorded as a member "insert", but the copy tree (copies/current-copy.ts)
 * walks only member relations: a root's owning many-to-many relation never marks the junction table
 * as carried, so `treeMisses` says o2 does not hold that part.
 * A correct library refuses save(o2) with StaleDataError (it carries the links as read before the
 * transaction's own change to them); a copy read without its tags still passes (control below).
 */
eachDriver(undefined, { mariadb: true })("many-to-many links changed earlier in the transaction on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: aggregateEntities });
  });
  afterAll(async () => db?.close());

  const orders = () => db.dataSource.getRepository(Order);
  const load = (id: number) => orders().findOneOrFail({ where: { id }, relations: { tags: true } });
  const failureOf = async (work: (manager: EntityManager) => Promise<unknown>): Promise<unknown> => {
    try {
      await db.dataSource.transaction(work);
    } catch (error) {
      return error;
    }
    return undefined;
  };

  it("refuses an older copy holding the tags after the transaction added one: the link is never dropped", async () => {
    const tags = db.dataSource.getRepository(Tag);
    const [gift, urgent] = [await tags.save({ label: "gift" }), await tags.save({ label: "urgent" })];
    const { id } = await orders().save(orders().create({ customer: "ada", lines: [], tags: [gift] }));
    const [o1, o2] = [await load(id), await load(id)];
    const error = await failureOf(async (manager) => {
      o1.tags.push(urgent);
      await manager.save(o1);
      o2.customer = "grace";
      await manager.save(o2);
    });
    expect(error).toBeInstanceOf(StaleDataError);
    const stored = await load(id);
    expect(stored).toMatchObject({ customer: "ada", version: 1 });
    expect(stored.tags.map((tag) => tag.label)).toEqual(["gift"]);
  });

  it("refuses an older copy holding the tags after the transaction removed one: the link is never restored", async () => {
    const tags = db.dataSource.getRepository(Tag);
    const [gift, urgent] = [await tags.save({ label: "gift" }), await tags.save({ label: "urgent" })];
    const { id } = await orders().save(orders().create({ customer: "ada", lines: [], tags: [gift, urgent] }));
    const [o1, o2] = [await load(id), await load(id)];
    const error = await failureOf(async (manager) => {
      o1.tags = o1.tags.filter((tag) => tag.label !== "urgent");
      await manager.save(o1);
      o2.customer = "grace";
      await manager.save(o2);
    });
    expect(error).toBeInstanceOf(StaleDataError);
    expect((await load(id)).tags.map((tag) => tag.label).sort()).toEqual(["gift", "urgent"]);
  });
});
