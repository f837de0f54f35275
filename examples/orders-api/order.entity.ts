import { Column, Entity, OneToMany, PrimaryGeneratedColumn, type Relation } from "typeorm";
import { AggregateRoot, VersionColumn } from "typeorm-occ";
import { OrderLine } from "./order-line.entity";

export const ORDER_STATUSES = ["open", "placed", "cancelled"] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/**
 * The aggregate root. Its version (and so its ETag) moves whenever the order or any of its lines
 * changes, so two clients editing different lines of one order still conflict.
 *
 * @example
 * const order = await orders.findOneOrFail({ where: { id }, relations: { lines: true } });
 */
@AggregateRoot()
@Entity("orders")
export class Order {
  @PrimaryGeneratedColumn() id!: number;

  @Column("varchar", { length: 100 }) customer!: string;

  @Column("varchar", { length: 20 }) status!: OrderStatus;

  @OneToMany(() => OrderLine, (line) => line.order, { cascade: true })
  lines!: Relation<OrderLine>[];

  @VersionColumn() version!: number;
}
