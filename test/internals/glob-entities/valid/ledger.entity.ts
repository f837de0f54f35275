import { Column, Entity, PrimaryGeneratedColumn } from "typeorm";
import { VersionColumn } from "typeorm-occ";

@Entity()
export class Ledger {
  @PrimaryGeneratedColumn() id!: number;
  @Column("integer") balance!: number;
  @VersionColumn() version!: number;
}
