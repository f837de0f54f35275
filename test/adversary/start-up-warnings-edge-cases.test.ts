import {
  AbstractLogger,
  ChildEntity,
  Column,
  Entity,
  EntitySchema,
  ManyToMany,
  ManyToOne,
  OneToMany,
  PrimaryGeneratedColumn,
  TableInheritance,
  VersionColumn as TypeOrmVersionColumn,
  JoinTable,
  type DataSourceOptions,
  type Logger,
  type LogLevel,
  type LogMessage,
} from "typeorm";
import { AggregateRoot, VersionColumn, InvalidArgumentError, disableOccWarning, occSchema, type OccWarningCode } from "typeorm-occ";
import { startUpWarningsFixture } from "../support/start-up-warnings";
import { eachDriver } from "../support/each-driver";

/**
 * Issue 17 adversary: the start-up warnings on the shapes entities really take (EntitySchema,
 * embedded, inheritance, lazy and partial-cascade relations), and the ways a warning can be lost or
 * doubled (custom loggers, a logger that throws). Warnings are given once per entity in the
 * process, so every test declares fresh entity classes.
 */

class RecordingLogger implements Logger {
  readonly messages: Array<{ level: string; message: string }> = [];
  logQuery(): void {}
  logQueryError(): void {}
  logQuerySlow(): void {}
  logSchemaBuild(): void {}
  logMigration(): void {}
  log(level: "log" | "info" | "warn", message: unknown): void {
    this.messages.push({ level, message: String(message) });
  }
}

eachDriver(undefined, { mariadb: true })("start-up warnings, edge cases, on %s", (driver) => {
  const fixture = startUpWarningsFixture(driver);

  async function warnings(entities: Array<Function | EntitySchema<any>>, options: Partial<DataSourceOptions> = {}): Promise<string[]> {
    const logger = new RecordingLogger();
    const dataSource = await fixture.db.open({ entities, logger, synchronize: false, ...options } as Partial<DataSourceOptions>);
    await dataSource.destroy();
    return logger.messages.filter((entry) => entry.level === "warn").map((entry) => entry.message);
  }

  it("warns about an EntitySchema with TypeORM's version: true, not about one given to occSchema()", async () => {
    const raw = new EntitySchema<{ id: number; version: number }>({
      name: `raw_schema_${driver}`,
      columns: { id: { type: "integer", primary: true, generated: true }, version: { type: "integer", version: true } },
    });
    const ours = occSchema(
      new EntitySchema<{ id: number; version: number }>({
        name: `occ_schema_${driver}`,
        columns: { id: { type: "integer", primary: true, generated: true }, version: { type: "integer" } },
      }),
      { versionColumn: "version" },
    );
    const texts = await warnings([raw, ours]);
    expect(texts).toEqual([expect.stringContaining(`raw_schema_${driver}.version is TypeORM's own @VersionColumn()`)]);
  });

  it("warns about TypeORM's @VersionColumn in an embedded class and on an abstract base, not about ours there", async () => {
    class LegacyStamp {
      @TypeOrmVersionColumn() version!: number;
    }
    class OurStamp {
      @VersionColumn() version!: number;
    }
    abstract class LegacyBase {
      @PrimaryGeneratedColumn() id!: number;
      @TypeOrmVersionColumn() version!: number;
    }
    abstract class OurBase {
      @PrimaryGeneratedColumn() id!: number;
      @VersionColumn() version!: number;
    }
    @Entity({ name: "emb_legacy" })
    class EmbLegacy {
      @PrimaryGeneratedColumn() id!: number;
      @Column(() => LegacyStamp) stamp!: LegacyStamp;
    }
    @Entity({ name: "emb_ours" })
    class EmbOurs {
      @PrimaryGeneratedColumn() id!: number;
      @Column(() => OurStamp) stamp!: OurStamp;
    }
    @Entity({ name: "inh_legacy" })
    class InhLegacy extends LegacyBase {}
    @Entity({ name: "inh_ours" })
    class InhOurs extends OurBase {}
    const texts = await warnings([EmbLegacy, EmbOurs, InhLegacy, InhOurs]);
    expect(texts.sort()).toEqual([
      expect.stringContaining("EmbLegacy.stamp.version is TypeORM's own"),
      expect.stringContaining("InhLegacy.version is TypeORM's own"),
    ]);
  });

  it("warns once for each single-table-inheritance entity with TypeORM's @VersionColumn", async () => {
    @Entity({ name: "sti_content" })
    @TableInheritance({ column: { type: "varchar", name: "kind" } })
    class Content {
      @PrimaryGeneratedColumn() id!: number;
      @TypeOrmVersionColumn() version!: number;
    }
    @ChildEntity()
    class Photo extends Content {}
    @ChildEntity()
    class Post extends Content {}
    const texts = await warnings([Content, Photo, Post]);
    expect(texts.map((text) => /typeorm-occ: (\w+)\./.exec(text)?.[1]).sort()).toEqual(["Content", "Photo", "Post"]);
  });

  it("warns about every uncascaded one-to-many of a root, lazy ones and a member's own to a grandchild included", async () => {
    @AggregateRoot()
    @Entity({ name: "uc_order" })
    class Order {
      @PrimaryGeneratedColumn() id!: number;
      @VersionColumn() version!: number;
      @OneToMany(() => Line, (line) => line.order, { cascade: ["insert"] }) lines!: Line[];
      @OneToMany(() => Note, (note) => note.order) notes!: Note[];
      @OneToMany(() => Memo, (memo) => memo.order) memos!: Promise<Memo[]>;
      @ManyToMany(() => Tag) @JoinTable({ name: "uc_order_tags" }) tags!: Tag[];
    }
    @Entity({ name: "uc_line" })
    class Line {
      @PrimaryGeneratedColumn() id!: number;
      @ManyToOne(() => Order, (order) => order.lines) order!: Order;
      @OneToMany(() => Part, (part) => part.line) parts!: Part[];
    }
    @Entity({ name: "uc_part" })
    class Part {
      @PrimaryGeneratedColumn() id!: number;
      @ManyToOne(() => Line, (line) => line.parts) line!: Line;
    }
    @Entity({ name: "uc_note" })
    class Note {
      @PrimaryGeneratedColumn() id!: number;
      @ManyToOne(() => Order, (order) => order.notes, { cascade: true }) order!: Order;
    }
    @Entity({ name: "uc_memo" })
    class Memo {
      @PrimaryGeneratedColumn() id!: number;
      @ManyToOne(() => Order, (order) => order.memos) order!: Promise<Order>;
    }
    @Entity({ name: "uc_tag" })
    class Tag {
      @PrimaryGeneratedColumn() id!: number;
    }
    const texts = await warnings([Order, Line, Part, Note, Memo, Tag]);
    const where = texts.map((text) => /typeorm-occ: (\w+\.\w+) is a one-to-many/.exec(text)?.[1]).sort();
    expect(where).toEqual(["Line.parts", "Order.memos", "Order.notes"]);
  });

  it("warns once per entity across two DataSources and a re-initialize", async () => {
    @Entity({ name: "twice_legacy" })
    class TwiceLegacy {
      @PrimaryGeneratedColumn() id!: number;
      @TypeOrmVersionColumn() version!: number;
    }
    const first = await warnings([TwiceLegacy]);
    const logger = new RecordingLogger();
    const second = await fixture.db.open({ entities: [TwiceLegacy], logger, synchronize: false } as Partial<DataSourceOptions>);
    await second.destroy();
    await second.initialize();
    await second.destroy();
    expect(first).toHaveLength(1);
    expect(logger.messages).toEqual([]);
  });

  it("does not let a logger that throws fail initialize(): the warning goes to the process instead", async () => {
    @Entity({ name: "throwing_logger_legacy" })
    class ThrowingLoggerLegacy {
      @PrimaryGeneratedColumn() id!: number;
      @TypeOrmVersionColumn() version!: number;
    }
    const logger = new RecordingLogger();
    logger.log = () => {
      throw new Error("logger is down");
    };
    const dataSource = await fixture.db.open({
      entities: [ThrowingLoggerLegacy],
      logger,
      logging: ["warn"],
      synchronize: false,
    } as Partial<DataSourceOptions>);
    await dataSource.destroy();
    expect(fixture.processWarnings).toHaveBeenCalledWith(expect.stringContaining("ThrowingLoggerLegacy.version"), {
      type: "TypeOrmOccWarning",
      code: "typeorm-version-column",
    });
  });

  it("is never silent with an AbstractLogger subclass that does not print warn, whatever `logging` says", async () => {
    @Entity({ name: "quiet_logger_legacy" })
    class QuietLoggerLegacy {
      @PrimaryGeneratedColumn() id!: number;
      @TypeOrmVersionColumn() version!: number;
    }
    const written: string[] = [];
    class QuietLogger extends AbstractLogger {
      protected writeLog(_level: LogLevel, message: LogMessage | LogMessage[]): void {
        for (const entry of [message].flat()) written.push(String(entry.message));
      }
    }
    // TypeORM hands a logger object every message and ignores `logging`; this one was built without options, so it drops "warn".
    const dataSource = await fixture.db.open({
      entities: [QuietLoggerLegacy],
      logger: new QuietLogger(),
      logging: ["warn"],
      synchronize: false,
    } as Partial<DataSourceOptions>);
    await dataSource.destroy();
    expect(written).toEqual([]);
    expect(fixture.processWarnings).toHaveBeenCalledWith(
      expect.stringContaining("QuietLoggerLegacy.version"),
      expect.objectContaining({ code: "typeorm-version-column" }),
    );
  });

  it("does not double a warning into the process when a custom logger receives it", async () => {
    @Entity({ name: "custom_logger_legacy" })
    class CustomLoggerLegacy {
      @PrimaryGeneratedColumn() id!: number;
      @TypeOrmVersionColumn() version!: number;
    }
    expect(await warnings([CustomLoggerLegacy])).toHaveLength(1);
    expect(fixture.processWarnings).not.toHaveBeenCalled();
  });

  it("refuses an unknown warning code with InvalidArgumentError", () => {
    const call = () => disableOccWarning("typeorm-versioncolumn" as OccWarningCode);
    expect(call).toThrow(InvalidArgumentError);
    expect(call).toThrow(/typeorm-version-column.*uncascaded-member/);
  });
});
