import { Column, Entity, PrimaryGeneratedColumn } from "typeorm";

/**
 * One deposit into a wallet, recorded once per idempotency key (the key a client sends with the
 * request and repeats when it retries). The unique index is what makes a repeat harmless.
 *
 * @example
 * await insertOnce(deposits, { idempotencyKey, walletId, cents }, { conflictPaths: ["idempotencyKey"] });
 */
@Entity()
export class Deposit {
  @PrimaryGeneratedColumn() id!: number;

  @Column("varchar", { length: 100, unique: true }) idempotencyKey!: string;

  @Column("integer") walletId!: number;

  /** Integer cents. */
  @Column("integer") cents!: number;
}
