import { Column, DeleteDateColumn, Entity, PrimaryColumn, PrimaryGeneratedColumn, VersionColumn as TypeOrmVersionColumn } from "typeorm";
import { VersionColumn, disableOccWarning } from "typeorm-occ";

// The controls below use TypeORM's own @VersionColumn on purpose: a test file that imports them can't test that warning.
disableOccWarning("typeorm-version-column");

@Entity()
export class Doc {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") title!: string;
  @Column("integer", { default: 0 }) counter!: number;
  @VersionColumn() version!: number;
}

@Entity()
export class SoftDoc {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") title!: string;
  @DeleteDateColumn() deletedAt?: Date | null;
  @VersionColumn() version!: number;
}

@Entity()
export class StockItem {
  @PrimaryColumn("varchar") tenant!: string;
  @PrimaryColumn("integer") sku!: number;
  @Column("integer") quantity!: number;
  @VersionColumn() version!: number;
}

/** The control: TypeORM's own counter-only version column. */
@Entity()
export class PlainCounter {
  @PrimaryGeneratedColumn() id!: number;
  @Column("integer") value!: number;
  @TypeOrmVersionColumn() version!: number;
}

@Entity()
export class OccCounter {
  @PrimaryGeneratedColumn() id!: number;
  @Column("integer") value!: number;
  @VersionColumn() version!: number;
}

export const coreEntities = [Doc, SoftDoc, StockItem, PlainCounter, OccCounter];
