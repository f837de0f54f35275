/**
 * The same tables as ./plain.ts, versioned by typeorm-occ: `@VersionColumn()` from "typeorm-occ"
 * and the order as an `@AggregateRoot()` whose lines are members (cascading one-to-many).
 */
import { Column, Entity, ManyToOne, OneToMany, PrimaryGeneratedColumn } from "typeorm";
import { AggregateRoot, VersionColumn } from "typeorm-occ";

@Entity("occ_item")
export class OccItem {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") name!: string;
  @Column("integer") counter!: number;
  @VersionColumn() version!: number;
}

@AggregateRoot()
@Entity("occ_order")
export class OccOrder {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") customer!: string;
  @VersionColumn() version!: number;
  @OneToMany(() => OccOrderLine, (line) => line.order, { cascade: true }) lines!: OccOrderLine[];
}

@Entity("occ_order_line")
export class OccOrderLine {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") sku!: string;
  @Column("integer") quantity!: number;
  @ManyToOne(() => OccOrder, (order) => order.lines, { onDelete: "CASCADE" }) order!: OccOrder;
}

export const occEntities = [OccItem, OccOrder, OccOrderLine];
