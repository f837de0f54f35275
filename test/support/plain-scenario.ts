import {
  Column,
  DeleteDateColumn,
  Entity,
  ManyToOne,
  OneToMany,
  PrimaryGeneratedColumn,
  VersionColumn as TypeOrmVersionColumn,
} from "typeorm";
import { createTestDatabase } from "./data-source";
import type { DriverName } from "./drivers";

/** Ordinary TypeORM entities: no typeorm-occ decorator anywhere. */
@Entity()
export class Author {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") name!: string;
  @TypeOrmVersionColumn() version!: number;
  @OneToMany(() => Book, (book) => book.author, { cascade: true })
  books!: Book[];
}

@Entity()
export class Book {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") title!: string;
  @DeleteDateColumn() deletedAt?: Date | null;
  @ManyToOne(() => Author, (author) => author.books, { orphanedRowAction: "delete", onDelete: "CASCADE" })
  author!: Author;
}

export interface ScenarioResult {
  statements: string[];
  states: unknown[];
}

/**
 * Ordinary saves, cascades, orphan removal, soft removal and removes, including TypeORM's own
 * lost update on its counter-only @VersionColumn. Returns every statement and the state after each step.
 */
export async function runPlainScenario(driver: DriverName): Promise<ScenarioResult> {
  const db = await createTestDatabase(driver, { entities: [Author, Book] });
  const authors = db.dataSource.getRepository(Author);
  const books = db.dataSource.getRepository(Book);
  const states: unknown[] = [];
  const snapshot = async () =>
    states.push(await authors.find({ relations: { books: true }, order: { id: "ASC", books: { id: "ASC" } }, withDeleted: true }));
  try {
    const author = await authors.save(authors.create({ name: "le guin", books: [{ title: "a" }, { title: "b" }, { title: "c" }] }));
    await snapshot();
    author.name = "ursula";
    author.books[0].title = "a2";
    await authors.save(author);
    await snapshot();
    await authors.save(author); // nothing changed
    author.books = author.books.filter((book) => book.title !== "b");
    await authors.save(author);
    await snapshot();
    await books.softRemove(author.books[1]);
    await books.recover(author.books[1]);
    await snapshot();
    const stale = await authors.findOneByOrFail({ id: author.id });
    const fresh = await authors.findOneByOrFail({ id: author.id });
    fresh.name = "first";
    await authors.save(fresh);
    stale.name = "second, silently overwriting";
    await authors.save(stale); // TypeORM's lost update, unchanged by typeorm-occ for its own column
    await snapshot();
    await authors.remove(await authors.findOneOrFail({ where: { id: author.id }, relations: { books: true } }));
    await snapshot();
    return { statements: [...db.log.queries], states };
  } finally {
    await db.close();
  }
}
