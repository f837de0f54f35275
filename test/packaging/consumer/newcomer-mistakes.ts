/**
 * A consumer of the packed typeorm-occ making the mistakes a team converting from TypeORM's own
 * `@VersionColumn` makes first (issue 17): they must show as warnings at initialize() and as typed
 * errors, in a strict project compiled against the published types. Prints one JSON line.
 */
import "reflect-metadata";
import { Column, DataSource, Entity, ManyToOne, OneToMany, PrimaryGeneratedColumn, VersionColumn as TypeOrmVersionColumn } from "typeorm";
import type { Relation } from "typeorm";
import { AggregateRoot, VersionColumn, isOccError, updateVersioned } from "typeorm-occ";

@Entity()
class Legacy {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") name!: string;
  @TypeOrmVersionColumn() version!: number; // the first mistake: TypeORM's counter, never checked
}

@AggregateRoot()
@Entity()
class Basket {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar", { default: "" }) note!: string;
  @VersionColumn() version!: number;
  @OneToMany(() => Item, (item) => item.basket) items!: Relation<Item>[]; // the second: no cascade
}

@Entity()
class Item {
  @PrimaryGeneratedColumn() id!: number;
  @ManyToOne(() => Basket, (basket) => basket.items) basket!: Relation<Basket>;
}

async function main(): Promise<void> {
  const warnings: string[] = [];
  process.on("warning", (warning: Error & { code?: string }) => {
    if (warning.name === "TypeOrmOccWarning" && warning.code) warnings.push(warning.code);
  });
  const dataSource = new DataSource({ type: "better-sqlite3", database: ":memory:", entities: [Legacy, Basket, Item], synchronize: true });
  await dataSource.initialize();
  await new Promise((resolve) => setImmediate(resolve)); // process warnings are emitted on the next tick

  const baskets = dataSource.getRepository(Basket);
  const { id } = await baskets.save(baskets.create({}));
  // @ts-expect-error a key without the primary key does not compile
  const withoutId = await updateVersioned(baskets, { version: 1 }, { note: "x" }).catch((error: unknown) => error);
  // @ts-expect-error a key without the version does not compile
  const withoutVersion = await updateVersioned(baskets, { id }, { note: "x" }).catch((error: unknown) => error);
  const stale = await updateVersioned(baskets, { id, version: 7 }, { note: "x" }).catch((error: unknown) => error);
  await dataSource.destroy();

  const codeOf = (error: unknown) => (isOccError(error) ? `${error.name} ${error.code}` : String(error));
  console.log(
    JSON.stringify({
      warnings: warnings.sort(),
      withoutId: codeOf(withoutId),
      withoutVersion: codeOf(withoutVersion),
      // Checking the code narrows the union to StaleDataError and its fields, in the published types.
      stale: isOccError(stale) && stale.code === "stale-data" ? [stale.expectedVersion, stale.actualVersion] : codeOf(stale),
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
