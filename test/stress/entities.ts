import { Column, Entity, ManyToOne, OneToMany, PrimaryGeneratedColumn, VersionColumn as TypeOrmVersionColumn } from "typeorm";
import { AggregateRoot, VersionColumn, disableOccWarning } from "typeorm-occ";

// The controls below use TypeORM's own @VersionColumn on purpose: a test file that imports them can't test that warning.
disableOccWarning("typeorm-version-column");

// The same model twice: once guarded by typeorm-occ, once by TypeORM's own @VersionColumn (the control).

@Entity()
export class OccStressCounter {
  @PrimaryGeneratedColumn() id!: number;
  @Column("integer") value!: number;
  @VersionColumn() version!: number;
}

@AggregateRoot()
@Entity()
export class OccStressOrder {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") note!: string;
  @VersionColumn() version!: number;
  @OneToMany(() => OccStressLine, (line) => line.order, { cascade: true })
  lines!: OccStressLine[];
}

@Entity()
export class OccStressLine {
  @PrimaryGeneratedColumn() id!: number;
  /** Set by the multi-step workload's insertOnce (its conflict key); null for lines added through save(). */
  @Column("varchar", { nullable: true, unique: true }) ref!: string | null;
  @Column("varchar") label!: string;
  @Column("integer") quantity!: number;
  @ManyToOne(() => OccStressOrder, (order) => order.lines, { orphanedRowAction: "delete", onDelete: "CASCADE" })
  order!: OccStressOrder;
}

@Entity()
export class PlainStressCounter {
  @PrimaryGeneratedColumn() id!: number;
  @Column("integer") value!: number;
  @TypeOrmVersionColumn() version!: number;
}

@Entity()
export class PlainStressOrder {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") note!: string;
  @TypeOrmVersionColumn() version!: number;
  @OneToMany(() => PlainStressLine, (line) => line.order, { cascade: true })
  lines!: PlainStressLine[];
}

@Entity()
export class PlainStressLine {
  @PrimaryGeneratedColumn() id!: number;
  /** Set by the multi-step workload's insertOnce (its conflict key); null for lines added through save(). */
  @Column("varchar", { nullable: true, unique: true }) ref!: string | null;
  @Column("varchar") label!: string;
  @Column("integer") quantity!: number;
  @ManyToOne(() => PlainStressOrder, (order) => order.lines, { orphanedRowAction: "delete", onDelete: "CASCADE" })
  order!: PlainStressOrder;
}

/** The entity classes one workload runs on. */
export interface Flavor {
  name: "typeorm-occ" | "plain typeorm";
  Counter: typeof OccStressCounter | typeof PlainStressCounter;
  Order: typeof OccStressOrder | typeof PlainStressOrder;
  Line: typeof OccStressLine | typeof PlainStressLine;
}

export const occFlavor: Flavor = { name: "typeorm-occ", Counter: OccStressCounter, Order: OccStressOrder, Line: OccStressLine };
export const plainFlavor: Flavor = { name: "plain typeorm", Counter: PlainStressCounter, Order: PlainStressOrder, Line: PlainStressLine };

export const stressEntities = [OccStressCounter, OccStressOrder, OccStressLine, PlainStressCounter, PlainStressOrder, PlainStressLine];
