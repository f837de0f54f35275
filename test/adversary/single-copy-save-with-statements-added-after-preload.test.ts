import { Column, Entity, JoinTable, ManyToMany, ManyToOne, OneToMany, PrimaryGeneratedColumn } from "typeorm";
import { VersionColumn } from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { eachDriver } from "../support/each-driver";

@Entity()
class Topic {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") text!: string;
}

/** Versioned, not an aggregate root: many-to-many links and a one-to-many collection. */
@Entity()
class Post {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") title!: string;
  @VersionColumn() version!: number;
  @ManyToMany(() => Topic) @JoinTable() topics!: Topic[];
  @OneToMany(() => Reply, (reply) => reply.post) replies!: Reply[];
}

@Entity()
class Reply {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") text!: string;
  @ManyToOne(() => Post, (post) => post.replies, { nullable: true, onDelete: "CASCADE", orphanedRowAction: "delete" })
  post!: Post | null;
}

/**
 * Adversary finding (issue 16, no transaction of its own): a save()/remove() whose one subject is a
 * versioned copy with a snapshot drops its own transaction at pre-load time, when the subject list
 * is all TypeORM has built. The statements TypeORM adds after the pre-load — junction INSERT/DELETE
 * rows of a many-to-many, orphan DELETEs of a one-to-many — make the unit two statements, and the
 * library then refuses it with TransactionRequiredError ("with { transaction: false } …"), though
 * the caller passed no option at all. Plain TypeORM, and the library before the snapshot pre-load,
 * save and remove these. A correct library decides to drop the transaction only once the unit's
 * statements are known (after the subjects are built), or keeps it whenever the copy holds a
 * many-to-many or one-to-many relation.
 */
eachDriver(undefined, { mariadb: true })("a plain save()/remove() of one copy whose unit grows after pre-load, on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: [Topic, Post, Reply] });
  });
  afterAll(async () => db?.close());

  const posts = () => db.dataSource.getRepository(Post);
  const topics = () => db.dataSource.getRepository(Topic);
  const replies = () => db.dataSource.getRepository(Reply);

  it("saves a changed column together with a new many-to-many link", async () => {
    const first = await topics().save(topics().create({ text: "first" }));
    const second = await topics().save(topics().create({ text: "second" }));
    const { id } = await posts().save(posts().create({ title: "a", topics: [first] }));
    const copy = await posts().findOneOrFail({ where: { id }, relations: { topics: true } });
    copy.title = "b";
    copy.topics.push(second);
    await posts().save(copy);
    const after = await posts().findOneOrFail({ where: { id }, relations: { topics: true } });
    expect(after.title).toBe("b");
    expect(after.topics.map((topic) => topic.id).sort()).toEqual([first.id, second.id].sort());
  });

  it("removes a copy that holds its many-to-many links", async () => {
    const topic = await topics().save(topics().create({ text: "t" }));
    const { id } = await posts().save(posts().create({ title: "a", topics: [topic] }));
    const copy = await posts().findOneOrFail({ where: { id }, relations: { topics: true } });
    await posts().remove(copy);
    expect(await posts().findOneBy({ id })).toBeNull();
  });

  it("saves a changed column together with an orphaned child", async () => {
    const { id } = await posts().save(posts().create({ title: "a" }));
    await replies().save(replies().create({ text: "keep", post: { id } }));
    const dropped = await replies().save(replies().create({ text: "drop", post: { id } }));
    const copy = await posts().findOneOrFail({ where: { id }, relations: { replies: true } });
    copy.title = "b";
    copy.replies = copy.replies.filter((reply) => reply.id !== dropped.id);
    await posts().save(copy);
    expect(await posts().findOneByOrFail({ id })).toMatchObject({ title: "b" });
    expect(await replies().findOneBy({ id: dropped.id })).toBeNull();
  });
});
