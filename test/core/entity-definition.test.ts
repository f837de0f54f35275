import { Column, Entity, PrimaryGeneratedColumn, VersionColumn as TypeOrmVersionColumn } from "typeorm";
import { AggregateMember, AggregateRoot, EntityDefinitionError, VersionColumn, type VersionColumnOptions } from "typeorm-occ";
import { createTestDatabase } from "../support/data-source";
import { enabledDrivers } from "../support/drivers";

@AggregateRoot()
@Entity()
class RootWithoutVersion {
  @PrimaryGeneratedColumn() id!: number;
}

@Entity()
class TwoVersions {
  @PrimaryGeneratedColumn() id!: number;
  @VersionColumn() version!: number;
  @TypeOrmVersionColumn() revision!: number;
}

@Entity()
class TextVersion {
  @PrimaryGeneratedColumn() id!: number;
  // A string type cannot be expressed through the typed options, as intended; force it to prove the runtime check.
  @VersionColumn({ type: "varchar" } as unknown as VersionColumnOptions) version!: string;
}

@Entity()
class StringVersion {
  @PrimaryGeneratedColumn() id!: number;
  @VersionColumn() version!: string;
}

@Entity()
class NoPrimaryKey {
  @Column("varchar") name!: string;
  @VersionColumn() version!: number;
}

@Entity()
class Orphan {
  @PrimaryGeneratedColumn() id!: number;
  @AggregateMember()
  @Column("integer")
  parentId!: number;
}

const cases: [string, Function, RegExp][] = [
  ["an aggregate root without a version column", RootWithoutVersion, /RootWithoutVersion: @AggregateRoot\(\) needs a version column/],
  ["two version columns", TwoVersions, /TwoVersions: has more than one version column \(version, revision\)/],
  ["a non-integer version column", TextVersion, /TextVersion: version column "version" must be an integer column, got type "varchar"/],
  [
    "a version property typed as a string",
    StringVersion,
    /StringVersion: version column "version" must be declared as a number, not String/,
  ],
  ["an entity without a primary key", NoPrimaryKey, /NoPrimaryKey: a versioned entity needs a primary key/],
  ["@AggregateMember on a plain column", Orphan, /Orphan: @AggregateMember\(\) on "parentId" must decorate a many-to-one/],
];

describe.each(enabledDrivers({ mariadb: true }))("entity definitions on %s", (driver) => {
  it.each(cases)("rejects %s when the DataSource initializes", async (_, entity, message) => {
    const error = await createTestDatabase(driver, { entities: [entity] }).then(
      async (db) => {
        await db.close();
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(EntityDefinitionError);
    expect((error as Error).message).toMatch(message);
  });
});
