import { Column, Entity, ManyToOne, OneToMany, PrimaryGeneratedColumn } from "typeorm";
import { VersionColumn } from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { eachDriver } from "../support/each-driver";

/** A versioned entity with a one-to-many collection, not an aggregate: a book's author is stored in the book's row. */
@Entity()
class Writer {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") name!: string;
  @VersionColumn() version!: number;
  @OneToMany(() => Novel, (novel) => novel.writer) novels!: Novel[];
}

@Entity()
class Novel {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") title!: string;
  @ManyToOne(() => Writer, (writer) => writer.novels, { nullable: true, onDelete: "CASCADE", orphanedRowAction: "delete" })
  writer!: Writer | null;
}

/**
 * Adversary finding (issue 16, snapshot pre-load): a copy's snapshot keeps the `{ id }` keys of the
 * collection it held, and TypeORM's orphan detection runs against them instead of the pre-load. For
 * a versioned entity that is not an aggregate root, the collection lives in the children's rows:
 * the parent's version does not move when a child leaves it, so `WHERE version = v` proves nothing
 * about the snapshot's keys. Here novel 2 moves to another writer meanwhile; the copy (still at
 * version 1, still listing novel 2) drops it from its collection and saves: the library DELETEs
 * novel 2, which now belongs to the other writer. Plain TypeORM's pre-load sees that novel 2 is no
 * longer this writer's and deletes nothing (and so did the library before the snapshot pre-load).
 * A correct library trusts a snapshot's related keys only where the checked version covers them
 * (foreign keys in the row itself; collections of an aggregate root whose members move the root),
 * and pre-loads (or re-reads the keys of) every other collection it compares.
 */
eachDriver(undefined, { mariadb: true })("a plain versioned entity's collection on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: [Writer, Novel] });
  });
  afterAll(async () => db?.close());

  it("does not delete a child that moved to another parent meanwhile", async () => {
    const writers = db.dataSource.getRepository(Writer);
    const novels = db.dataSource.getRepository(Novel);
    const ada = await writers.save(writers.create({ name: "ada" }));
    const grace = await writers.save(writers.create({ name: "grace" }));
    await novels.save(novels.create({ title: "first", writer: ada }));
    const moved = await novels.save(novels.create({ title: "second", writer: ada }));
    const copy = await writers.findOneOrFail({ where: { id: ada.id }, relations: { novels: true } });

    await novels.update({ id: moved.id }, { writer: { id: grace.id } }); // another client moves it

    copy.novels = copy.novels.filter((novel) => novel.id !== moved.id);
    await writers.save(copy).catch(() => undefined); // refusing is acceptable; deleting grace's novel is not
    const after = await novels.findOne({ where: { id: moved.id }, relations: { writer: true } });
    expect(after).toMatchObject({ title: "second", writer: { id: grace.id } });
  });
});
