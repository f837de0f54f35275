/**
 * The control group: the same tables modelled with TypeORM's own `@VersionColumn` and no
 * typeorm-occ decorator. typeorm-occ's hook is installed process-wide as soon as anything is
 * imported from "typeorm-occ", but it leaves entities without our decorators to TypeORM, so these
 * measure plain TypeORM as users run it next to versioned entities.
 */
import { Column, Entity, ManyToOne, OneToMany, PrimaryGeneratedColumn, VersionColumn } from "typeorm";
import { disableOccWarning } from "typeorm-occ";

// TypeORM's own @VersionColumn is the point of this control, not the mistake the warning is for.
disableOccWarning("typeorm-version-column");

@Entity("plain_item")
export class PlainItem {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") name!: string;
  @Column("integer") counter!: number;
  @VersionColumn() version!: number;
}

@Entity("plain_order")
export class PlainOrder {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") customer!: string;
  @VersionColumn() version!: number;
  @OneToMany(() => PlainOrderLine, (line) => line.order, { cascade: true }) lines!: PlainOrderLine[];
}

@Entity("plain_order_line")
export class PlainOrderLine {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") sku!: string;
  @Column("integer") quantity!: number;
  @ManyToOne(() => PlainOrder, (order) => order.lines, { onDelete: "CASCADE" }) order!: PlainOrder;
}

export const plainEntities = [PlainItem, PlainOrder, PlainOrderLine];
