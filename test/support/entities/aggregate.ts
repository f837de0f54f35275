import { Column, DeleteDateColumn, Entity, JoinTable, ManyToMany, ManyToOne, OneToMany, PrimaryGeneratedColumn } from "typeorm";
import { AggregateMember, AggregateRoot, VersionColumn } from "typeorm-occ";

@Entity()
export class Tag {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") label!: string;
}

@AggregateRoot()
@Entity()
export class Order {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") customer!: string;
  @VersionColumn() version!: number;
  @OneToMany(() => OrderLine, (line) => line.order, { cascade: true })
  lines!: OrderLine[];
  @ManyToMany(() => Tag)
  @JoinTable()
  tags!: Tag[];
}

@Entity()
export class OrderLine {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") product!: string;
  @Column("integer") quantity!: number;
  @ManyToOne(() => Order, (order) => order.lines, { onDelete: "CASCADE", orphanedRowAction: "delete" })
  order!: Order;
  @OneToMany(() => LineNote, (note) => note.line, { cascade: true })
  notes!: LineNote[];
}

/** A grandchild of Order. */
@Entity()
export class LineNote {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") text!: string;
  @ManyToOne(() => OrderLine, (line) => line.notes, { onDelete: "CASCADE", orphanedRowAction: "delete" })
  line!: OrderLine;
}

/** Declared a member explicitly: Order has no cascading relation to it. */
@Entity()
export class Shipment {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") carrier!: string;
  @AggregateMember()
  @ManyToOne(() => Order, { onDelete: "CASCADE" })
  order!: Order;
}

@AggregateRoot()
@Entity()
export class Cart {
  @PrimaryGeneratedColumn() id!: number;
  @VersionColumn() version!: number;
  @OneToMany(() => CartItem, (item) => item.cart, { cascade: true })
  items!: CartItem[];
}

@Entity()
export class CartItem {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") sku!: string;
  @DeleteDateColumn() removedAt?: Date | null;
  @ManyToOne(() => Cart, (cart) => cart.items, { orphanedRowAction: "soft-delete" })
  cart!: Cart;
}

@AggregateRoot()
@Entity()
export class Playlist {
  @PrimaryGeneratedColumn() id!: number;
  @VersionColumn() version!: number;
  @OneToMany(() => Track, (track) => track.playlist, { cascade: true })
  tracks!: Track[];
}

@Entity()
export class Track {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") title!: string;
  @ManyToOne(() => Playlist, (playlist) => playlist.tracks, { nullable: true, orphanedRowAction: "nullify" })
  playlist!: Playlist | null;
}

/** A member with a version of its own: both versions are checked. */
@AggregateRoot()
@Entity()
export class Invoice {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") number!: string;
  @VersionColumn() version!: number;
  @OneToMany(() => InvoiceLine, (line) => line.invoice, { cascade: true })
  lines!: InvoiceLine[];
}

@Entity()
export class InvoiceLine {
  @PrimaryGeneratedColumn() id!: number;
  @Column("integer") amount!: number;
  @VersionColumn() version!: number;
  @ManyToOne(() => Invoice, (invoice) => invoice.lines, { onDelete: "CASCADE" })
  invoice!: Invoice;
}

export const aggregateEntities = [Tag, Order, OrderLine, LineNote, Shipment, Cart, CartItem, Playlist, Track, Invoice, InvoiceLine];
