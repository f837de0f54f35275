import { Column, DataSource, Entity, PrimaryGeneratedColumn } from "typeorm";
import { VersionColumn } from "typeorm-occ";

@Entity()
export class Note {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") text!: string;
  @VersionColumn() version!: number;
}

export function openNotes(): Promise<DataSource> {
  return new DataSource({ type: "better-sqlite3", database: ":memory:", entities: [Note], synchronize: true }).initialize();
}
