import { Column, Entity, PrimaryGeneratedColumn } from "typeorm";
import { AggregateRoot } from "typeorm-occ";

/** An aggregate root without a version column: initialize() must refuse it. */
@AggregateRoot()
@Entity()
export class UnversionedRoot {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") name!: string;
}
