import { Column, Entity, PrimaryGeneratedColumn } from "typeorm";
import { InvalidVersionError, VersionColumn } from "typeorm-occ";
import { etagFor } from "typeorm-occ/http";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { enabledDrivers } from "../support/drivers";

@Entity()
class Revision {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") text!: string;
  /** Not called `version`: etagFor must find it through the decorator. */
  @VersionColumn() revision!: number;
}

describe("etagFor", () => {
  it("quotes a version number as a strong ETag", () => {
    expect(etagFor(3)).toBe('"3"');
    expect(etagFor(0)).toBe('"0"');
  });

  it("reads a { version } object", () => {
    expect(etagFor({ version: 12 })).toBe('"12"');
  });

  it.each([-1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1])("refuses version %p", (version) => {
    expect(() => etagFor(version)).toThrow(InvalidVersionError);
  });

  it("refuses an entity without a version, naming it", () => {
    expect(() => etagFor(Object.assign(new Revision(), { text: "new" }))).toThrow(/Revision\.revision must be/);
    expect(() => etagFor({ version: "3" })).toThrow(InvalidVersionError);
  });
});

describe.each(enabledDrivers())("etagFor on saved entities (%s)", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: [Revision] });
  });
  afterAll(async () => db?.close());

  it("follows the entity's typeorm-occ version column through saves", async () => {
    const repo = db.dataSource.getRepository(Revision);
    const entity = await repo.save(repo.create({ text: "a" }));
    expect(etagFor(entity)).toBe('"1"');
    entity.text = "b";
    await repo.save(entity);
    expect(etagFor(entity)).toBe('"2"');
    expect(etagFor(await repo.findOneByOrFail({ id: entity.id }))).toBe('"2"');
  });
});
