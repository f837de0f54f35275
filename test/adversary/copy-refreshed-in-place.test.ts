import { BaseEntity, Column, Entity, PrimaryGeneratedColumn, type EntityManager } from "typeorm";
import { VersionColumn, updateVersioned } from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { eachDriver } from "../support/each-driver";

@Entity()
class Draft extends BaseEntity {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") text!: string;
  @Column("integer") stars!: number;
  @VersionColumn() version!: number;
}

/**
 * Adversary finding (a FALSE CONFLICT): a copy refreshed in place — TypeORM's own
 * `BaseEntity.reload()` (`Object.assign(this, await findOneByOrFail(id))`), or
 * `repository.merge(copy, fresh)` — holds the row as just read, version 2 included, but keeps the
 * read stamp of its first read (version 1): stamps belong to the object TypeORM hydrated, and reload
 * copies the fresh values into another object. Its save is refused with "StaleDataError: … expected
 * version 2, found 2: the copy was read at version 1 and carries a newer one (2) … reload it" — after
 * the caller did exactly that. Inside a transaction after its own write, the same refresh is refused too.
 * A correct library accepts a copy whose every value was refreshed from a read at the version it
 * carries (e.g. stamp the target of reload()/merge from the fresh object's stamp when all columns are
 * copied, or fall back to the claim when the carried version equals a later read of the same row),
 * and documents the refresh that works if it cannot.
 */
eachDriver(undefined, { mariadb: true })("a copy refreshed in place on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: [Draft] });
  });
  afterAll(async () => db?.close());

  const drafts = () => db.dataSource.getRepository(Draft);

  it("BaseEntity.reload(), then save", async () => {
    const { id } = await drafts().save(drafts().create({ text: "a", stars: 1 }));
    const copy = await drafts().findOneByOrFail({ id });
    await updateVersioned(drafts(), { id, version: 1 }, { stars: 5 });
    await copy.reload();
    expect(copy).toMatchObject({ stars: 5, version: 2 });
    copy.text = "b";
    await drafts().save(copy);
    expect(await drafts().findOneByOrFail({ id })).toMatchObject({ text: "b", stars: 5, version: 3 });
  });

  it("repository.merge(copy, fresh) inside a transaction after its own write, then save", async () => {
    const { id } = await drafts().save(drafts().create({ text: "a", stars: 1 }));
    const copy = await drafts().findOneByOrFail({ id });
    await db.dataSource.transaction(async (manager: EntityManager) => {
      await updateVersioned(manager.getRepository(Draft), { id, version: 1 }, { stars: 5 });
      manager.getRepository(Draft).merge(copy, await manager.findOneByOrFail(Draft, { id }));
      copy.text = "b";
      await manager.save(copy);
    });
    expect(await drafts().findOneByOrFail({ id })).toMatchObject({ text: "b", stars: 5, version: 2 });
  });
});
