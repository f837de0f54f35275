import { Column, Entity, JoinTable, ManyToMany, ManyToOne, OneToMany, PrimaryGeneratedColumn } from "typeorm";
import { AggregateRoot, VersionColumn } from "typeorm-occ";

/** A root whose many-to-many links are also reachable from the other side (Label.baskets). */
@AggregateRoot()
@Entity()
export class Basket {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") owner!: string;
  @VersionColumn() version!: number;
  @ManyToMany(() => Label, (label) => label.baskets)
  @JoinTable()
  labels!: Label[];
  @OneToMany(() => BasketItem, (item) => item.basket, { cascade: true })
  items!: BasketItem[];
}

@Entity()
export class Label {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") text!: string;
  @ManyToMany(() => Basket, (basket) => basket.labels)
  baskets!: Basket[];
}

@Entity()
export class BasketItem {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") product!: string;
  @Column("integer") quantity!: number;
  @ManyToOne(() => Basket, (basket) => basket.items, { onDelete: "CASCADE", orphanedRowAction: "delete" })
  basket!: Basket;
  @OneToMany(() => ItemNote, (note) => note.item, { cascade: true })
  notes!: ItemNote[];
}

@Entity()
export class ItemNote {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") text!: string;
  @ManyToOne(() => BasketItem, (item) => item.notes, { onDelete: "CASCADE", orphanedRowAction: "delete" })
  item!: BasketItem;
}

export const adversaryEntities = [Basket, Label, BasketItem, ItemNote];

/** A member whose link to its root is lazy: `await line.order` loads the root in a later read. */
@AggregateRoot()
@Entity()
export class Invoice2 {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") number!: string;
  @VersionColumn() version!: number;
  @OneToMany(() => InvoiceRow, (row) => row.invoice, { cascade: true })
  rows!: InvoiceRow[];
}

@Entity()
export class InvoiceRow {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") text!: string;
  @Column("integer") amount!: number;
  @ManyToOne(() => Invoice2, (invoice) => invoice.rows, { onDelete: "CASCADE", orphanedRowAction: "delete", lazy: true })
  invoice!: Promise<Invoice2>;
}

export const lazyEntities = [Invoice2, InvoiceRow];
