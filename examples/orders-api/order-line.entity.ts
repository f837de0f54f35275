import { Column, Entity, ManyToOne, PrimaryGeneratedColumn, type Relation } from "typeorm";
import { Order } from "./order.entity";

/**
 * A line of an {@link Order}. It has no version of its own: the order's version guards it. A line
 * dropped from `order.lines` is deleted when the order is saved.
 *
 * @example
 * order.lines.push(Object.assign(new OrderLine(), { sku: "PEN-1", quantity: 2, unitPriceCents: 150 }));
 */
@Entity("order_lines")
export class OrderLine {
  @PrimaryGeneratedColumn() id!: number;

  @Column("varchar", { length: 40 }) sku!: string;

  @Column("integer") quantity!: number;

  @Column("integer") unitPriceCents!: number;

  @ManyToOne(() => Order, (order) => order.lines, { nullable: false, onDelete: "CASCADE", orphanedRowAction: "delete" })
  order!: Relation<Order>;
}
