import { Column, Entity, ManyToOne, PrimaryColumn, PrimaryGeneratedColumn, Unique, UpdateDateColumn } from "typeorm";
import { AggregateMember, AggregateRoot, VersionColumn } from "typeorm-occ";
import { aggregateEntities } from "../../support/entities/aggregate";

/** A balance guarded by typeorm-occ's version. */
@Entity()
export class Account {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") owner!: string;
  @Column("integer") balance!: number;
  @Column("varchar", { default: "EUR" }) currency!: string;
  @Column({ type: "integer", update: false, default: 0 }) openedYear!: number;
  @VersionColumn() version!: number;
}

/** The same without any version column. */
@Entity()
export class PlainAccount {
  @PrimaryGeneratedColumn() id!: number;
  @Column("integer") balance!: number;
  @Column("decimal", { precision: 10, scale: 2, default: 0 }) rate!: string;
}

/** An idempotent create keyed by a unique column. */
@Entity()
export class Payment {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar", { unique: true }) idempotencyKey!: string;
  @Column("integer") amount!: number;
  @Column("varchar", { default: "new" }) status!: string;
  @VersionColumn() version!: number;
}

/** A composite unique constraint, no version. */
@Entity()
@Unique(["tenant", "reference"])
export class Booking {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") tenant!: string;
  @Column("varchar") reference!: string;
  @Column("varchar") note!: string;
}

/** A natural primary key. */
@Entity()
export class Setting {
  @PrimaryColumn("varchar") name!: string;
  @Column("varchar") value!: string;
  /** A second unique key. */
  @Column("varchar", { unique: true, nullable: true }) alias!: string | null;
  @VersionColumn() version!: number;
}

/** "One open cart per customer", with no unique index to enforce it. */
@Entity()
export class ShoppingCart {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") customer!: string;
  @Column("varchar") status!: string;
}

/** An aggregate whose member rows carry an idempotency key of their own (insertOnce on a member). */
@AggregateRoot()
@Entity()
export class Ledger {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") name!: string;
  @VersionColumn() version!: number;
}

@Entity()
export class LedgerEntry {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar", { unique: true }) idempotencyKey!: string;
  @Column("integer") amount!: number;
  @AggregateMember()
  @ManyToOne(() => Ledger, { onDelete: "CASCADE" })
  ledger!: Ledger;
}

class Price {
  @Column("integer") cents!: number;
  @Column("varchar") currency!: string;
}

/** Column kinds updateVersioned's own statement must write as TypeORM's builder does. */
@Entity()
export class Listing {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar", { transformer: { to: (value: string | undefined) => value?.toUpperCase(), from: (value: string) => value } })
  code!: string;
  @Column(() => Price) price!: Price;
  @Column("simple-json") tags!: string[];
  @UpdateDateColumn() updatedAt!: Date;
  @VersionColumn() version!: number;
}

export const writeEntities = [
  Account,
  PlainAccount,
  Payment,
  Booking,
  Setting,
  ShoppingCart,
  Ledger,
  LedgerEntry,
  Listing,
  ...aggregateEntities,
];
