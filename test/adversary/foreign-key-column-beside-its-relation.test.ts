import { Column, Entity, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from "typeorm";
import { VersionColumn } from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { eachDriver } from "../support/each-driver";

@Entity()
class Shelf {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") name!: string;
}

/** The common `shelfId` column declared beside its many-to-one relation. */
@Entity()
class Binder {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") label!: string;
  @Column("integer", { nullable: true }) shelfId!: number | null;
  @ManyToOne(() => Shelf, { nullable: true }) @JoinColumn({ name: "shelfId" }) shelf!: Shelf | null;
  @VersionColumn() version!: number;
}

/**
 * Adversary finding (issue 16, snapshot pre-load): TypeORM gives the `shelfId` column the relation's
 * metadata (`column.relationMetadata`), and the snapshot skips every such column, keeping the key
 * only under the relation — which a copy loaded without `relations` does not hold. TypeORM's diff
 * then compares the copy's `shelfId` with undefined and writes it on every save: a save of an
 * unchanged copy sends `UPDATE … SET shelfId = 1, version = 2` and moves the version (every other
 * copy of the row now fails with StaleDataError for a change nobody made); plain TypeORM, and the
 * library before the snapshot pre-load, send no UPDATE. A correct library snapshots a join column's
 * value from the copy (its property, or the relation's key) whether or not the relation is held.
 */
eachDriver(undefined, { mariadb: true })("a foreign-key column beside its relation, on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: [Shelf, Binder] });
  });
  afterAll(async () => db?.close());

  it("is not written, and the version does not move, when a copy is saved unchanged", async () => {
    const shelves = db.dataSource.getRepository(Shelf);
    const binders = db.dataSource.getRepository(Binder);
    const shelf = await shelves.save(shelves.create({ name: "top" }));
    const { id } = await binders.save(binders.create({ label: "tax", shelfId: shelf.id }));
    const copy = await binders.findOneByOrFail({ id });
    const other = await binders.findOneByOrFail({ id });
    const statements = await db.log.capture(async () => void (await binders.save(copy)));
    expect(statements.filter((statement) => /^UPDATE/.test(statement))).toEqual([]);
    expect(await binders.findOneByOrFail({ id })).toMatchObject({ version: 1 });
    other.label = "taxes"; // still current: nobody changed the row
    await binders.save(other);
  });

  it("writes only the changed column", async () => {
    const shelves = db.dataSource.getRepository(Shelf);
    const binders = db.dataSource.getRepository(Binder);
    const shelf = await shelves.save(shelves.create({ name: "top" }));
    const { id } = await binders.save(binders.create({ label: "tax", shelfId: shelf.id }));
    const copy = await binders.findOneByOrFail({ id });
    copy.label = "taxes";
    const statements = await db.log.capture(async () => void (await binders.save(copy)));
    expect(statements.find((statement) => /^UPDATE/.test(statement))).not.toMatch(/shelfId/);
  });
});
