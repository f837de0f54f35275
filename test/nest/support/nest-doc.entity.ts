import { Column, Entity, PrimaryGeneratedColumn } from "typeorm";
import { VersionColumn } from "typeorm-occ";

@Entity()
export class NestDoc {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") title!: string;
  @VersionColumn() version!: number;
}
