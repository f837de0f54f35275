import { Column, Entity, PrimaryGeneratedColumn } from "typeorm";
import { StaleDataError, VersionColumn } from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { enabledDrivers } from "../support/drivers";

class Audit {
  @Column("varchar", { default: "system" }) by!: string;
  @VersionColumn() version!: number;
}

@Entity()
class AuditedDoc {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") title!: string;
  @Column(() => Audit) audit!: Audit;
}

/**
 * Issue 9, item 4: a @VersionColumn() inside an embedded class was accepted and never checked
 * (`SET …, "auditVersion" = "auditVersion" + 1 WHERE "id" = $2`). It is supported: checked like
 * any version column, named by its embedded path.
 */
describe.each(enabledDrivers({ mariadb: true }))("a version column inside an embedded class on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: [AuditedDoc] });
  });
  afterAll(async () => db?.close());

  const docs = () => db.dataSource.getRepository(AuditedDoc);

  it("reproduction: puts the embedded version in the UPDATE's WHERE clause and refuses a stale copy", async () => {
    const created = await docs().save(docs().create({ title: "a", audit: { by: "ada" } }));
    expect(created.audit.version).toBe(1);
    const mine = await docs().findOneByOrFail({ id: created.id });
    const theirs = await docs().findOneByOrFail({ id: created.id });
    theirs.title = "theirs";
    const statements = await db.log.capture(() => docs().save(theirs));
    expect(statements.find((sql) => /^UPDATE/i.test(sql))).toMatch(/WHERE .*[`"]auditVersion[`"] = /i);
    expect(theirs.audit.version).toBe(2);

    mine.title = "mine";
    const error = await docs()
      .save(mine)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StaleDataError);
    expect(error).toMatchObject({ entityName: "AuditedDoc", expectedVersion: 1, actualVersion: 2 });
    expect(await docs().findOneByOrFail({ id: created.id })).toMatchObject({ title: "theirs", audit: { version: 2 } });
  });

  it("checks removal against the embedded version", async () => {
    const created = await docs().save(docs().create({ title: "a", audit: { by: "ada" } }));
    const stale = await docs().findOneByOrFail({ id: created.id });
    created.title = "b";
    await docs().save(created);
    await expect(docs().remove(stale)).rejects.toMatchObject({ name: "StaleDataError", operation: "delete", actualVersion: 2 });
    const { id } = created;
    await docs().remove(created);
    expect(await docs().findOneBy({ id })).toBeNull();
  });

  it("refuses a hand-set embedded version through update()", async () => {
    const created = await docs().save(docs().create({ title: "a", audit: { by: "ada" } }));
    await expect(docs().update(created.id, { audit: { version: 9 } })).rejects.toMatchObject({ name: "UnguardedWriteError" });
    await docs().update(created.id, { title: "b" });
    expect((await docs().findOneByOrFail({ id: created.id })).audit.version).toBe(2);
  });
});
