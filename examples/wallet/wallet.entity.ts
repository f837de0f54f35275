import { Column, Entity, PrimaryGeneratedColumn } from "typeorm";
import { VersionColumn } from "typeorm-occ";

/**
 * A shared wallet. The balance is kept in integer cents (never floats for money), and
 * `@VersionColumn()` from typeorm-occ makes every save check that nobody changed the row since it
 * was loaded.
 *
 * @example
 * const wallet = await dataSource.getRepository(Wallet).findOneByOrFail({ id });
 */
@Entity()
export class Wallet {
  @PrimaryGeneratedColumn() id!: number;

  @Column("varchar", { length: 100 }) owner!: string;

  /** ISO 4217 code, e.g. "EUR". */
  @Column("varchar", { length: 3 }) currency!: string;

  /** Integer cents. */
  @Column("integer") balance!: number;

  @VersionColumn() version!: number;
}
