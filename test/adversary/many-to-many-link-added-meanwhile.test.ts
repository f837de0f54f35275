import { Column, Entity, JoinTable, ManyToMany, PrimaryGeneratedColumn } from "typeorm";
import { VersionColumn } from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { eachDriver } from "../support/each-driver";

@Entity()
class Badge {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") text!: string;
}

/** Versioned, not an aggregate root: a link change does not move its version. */
@Entity()
class Member {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") name!: string;
  @VersionColumn() version!: number;
  @ManyToMany(() => Badge) @JoinTable() badges!: Badge[];
}

/**
 * Adversary finding (issue 16, snapshot pre-load): the snapshot's many-to-many keys stand in for
 * the junction rows TypeORM's pre-load reads, but on an entity that is not an aggregate root a link
 * change does not move the version (another client's save adding a link leaves it at 1), so the
 * checked write proves nothing about them. Two clients give a member the same badge: the second
 * save's diff against its stale snapshot INSERTs a junction row that exists, and the save fails with
 * a duplicate-key QueryFailedError. Plain TypeORM (and the library before the snapshot pre-load)
 * reads the links, sees the badge is there, and the save succeeds. A correct library reads the
 * current links of a many-to-many the version does not cover (or moves the owner's version with
 * every link change, then refuses the stale copy with StaleDataError).
 */
eachDriver(undefined, { mariadb: true })("a many-to-many link added by another client, on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: [Badge, Member] });
  });
  afterAll(async () => db?.close());

  it("is not inserted a second time by a copy that adds it too", async () => {
    const badges = db.dataSource.getRepository(Badge);
    const members = db.dataSource.getRepository(Member);
    const gold = await badges.save(badges.create({ text: "gold" }));
    const { id } = await members.save(members.create({ name: "ada", badges: [] }));
    const mine = await members.findOneOrFail({ where: { id }, relations: { badges: true } });
    const theirs = await members.findOneOrFail({ where: { id }, relations: { badges: true } });
    theirs.badges.push(gold);
    await members.save(theirs);

    mine.badges.push(gold);
    const error = await members.save(mine).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    // Plain TypeORM succeeds here; a StaleDataError would also be a correct answer. A raw duplicate key is not.
    if (error !== undefined) expect(error).toMatchObject({ name: "StaleDataError" });
    const after = await members.findOneOrFail({ where: { id }, relations: { badges: true } });
    expect(after.badges.map((badge) => badge.id)).toEqual([gold.id]);
  });
});
