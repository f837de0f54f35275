import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { enabledDrivers } from "../support/drivers";
import { Order, Tag, aggregateEntities } from "../support/entities/aggregate";

/**
 * Adversary finding: creating a new aggregate root together with its many-to-many links —
 * `orders.save({ customer, lines: [], tags: [tag] })`, the most ordinary insert — is refused with
 * UnguardedWriteError, whose message is garbled ("belongs to aggregate Order#undefined", "relations:
 * { … }", "give order_tags_tag its own @VersionColumn()"). Plain TypeORM inserts it; nothing can be
 * overwritten (the root is new).
 * Likely cause: src/aggregate/member-guard.ts treats every junction row as an overwrite, and
 * write-plan.ts leaves roots the unit inserts out of the checked set, so a junction row whose owner is
 * being inserted finds no checked root. A junction row of an inserted owner overwrites nothing.
 */
describe.each(enabledDrivers({ mariadb: true }))("a new root saved with its many-to-many links on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: aggregateEntities });
  });
  afterAll(async () => db?.close());

  const orders = () => db.dataSource.getRepository(Order);
  const tags = () => db.dataSource.getRepository(Tag);

  it("is inserted with its links at version 1", async () => {
    const tag = await tags().save(tags().create({ label: "gift" }));
    const saved = await orders().save(orders().create({ customer: "ada", lines: [], tags: [tag] }));
    const stored = await orders().findOneOrFail({ where: { id: saved.id }, relations: { tags: true } });
    expect(stored.version).toBe(1);
    expect(stored.tags.map((t) => t.label)).toEqual(["gift"]);
  });

  it("control: links added to an existing, loaded root are accepted and move it", async () => {
    const tag = await tags().save(tags().create({ label: "urgent" }));
    const saved = await orders().save(orders().create({ customer: "bob", lines: [] }));
    const loaded = await orders().findOneOrFail({ where: { id: saved.id }, relations: { tags: true } });
    loaded.tags.push(tag);
    await orders().save(loaded);
    expect((await orders().findOneByOrFail({ id: saved.id })).version).toBe(2);
  });
});
