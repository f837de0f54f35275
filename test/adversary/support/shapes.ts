import {
  ChildEntity,
  Column,
  Entity,
  JoinColumn,
  ManyToOne,
  OneToMany,
  OneToOne,
  PrimaryColumn,
  PrimaryGeneratedColumn,
  TableInheritance,
} from "typeorm";
import { AggregateRoot, VersionColumn } from "typeorm-occ";

/** Single-table inheritance: the root is a base class with children. */
@AggregateRoot()
@Entity()
@TableInheritance({ column: { type: "varchar", name: "kind" } })
export class Ticket {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") title!: string;
  @VersionColumn() version!: number;
  @OneToMany(() => TicketComment, (comment) => comment.ticket, { cascade: true })
  comments!: TicketComment[];
}

@ChildEntity()
export class BugTicket extends Ticket {
  @Column("varchar", { nullable: true }) severity!: string | null;
  @OneToMany(() => BugStep, (step) => step.bug, { cascade: true })
  steps!: BugStep[];
}

@Entity()
export class TicketComment {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") text!: string;
  @ManyToOne(() => Ticket, (ticket) => ticket.comments, { onDelete: "CASCADE", orphanedRowAction: "delete" })
  ticket!: Ticket;
}

@Entity()
export class BugStep {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") text!: string;
  @ManyToOne(() => BugTicket, (bug) => bug.steps, { onDelete: "CASCADE", orphanedRowAction: "delete" })
  bug!: BugTicket;
}

/** Composite keys: a root keyed by (tenant, code) and members keyed by (tenant, code, line). */
@AggregateRoot()
@Entity()
export class Ledger {
  @PrimaryColumn("varchar") tenant!: string;
  @PrimaryColumn("varchar") code!: string;
  @VersionColumn() version!: number;
  @OneToMany(() => LedgerEntry, (entry) => entry.ledger, { cascade: true })
  entries!: LedgerEntry[];
}

@Entity()
export class LedgerEntry {
  @PrimaryColumn("varchar") tenant!: string;
  @PrimaryColumn("varchar") code!: string;
  @PrimaryColumn("integer") line!: number;
  @Column("integer") amount!: number;
  @ManyToOne(() => Ledger, (ledger) => ledger.entries, { onDelete: "CASCADE", orphanedRowAction: "delete" })
  @JoinColumn([
    { name: "tenant", referencedColumnName: "tenant" },
    { name: "code", referencedColumnName: "code" },
  ])
  ledger!: Ledger;
}

/** One-to-one members: the root owns the key (address), the member owns the key (profile). */
@AggregateRoot()
@Entity()
export class Account {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") name!: string;
  @VersionColumn() version!: number;
  @OneToOne(() => Address, (address) => address.account, { cascade: true, nullable: true })
  @JoinColumn()
  address!: Address | null;
  @OneToOne(() => Profile, (profile) => profile.account, { cascade: true })
  profile!: Profile | null;
}

@Entity()
export class Address {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") street!: string;
  @OneToOne(() => Account, (account) => account.address)
  account!: Account;
}

@Entity()
export class Profile {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") bio!: string;
  @OneToOne(() => Account, (account) => account.profile, { onDelete: "CASCADE" })
  @JoinColumn()
  account!: Account;
}

export const shapeEntities = [Ticket, BugTicket, TicketComment, BugStep, Ledger, LedgerEntry, Account, Address, Profile];
