import {
  AbstractLogger,
  Column,
  Entity,
  ManyToOne,
  OneToMany,
  PrimaryGeneratedColumn,
  VersionColumn as TypeOrmVersionColumn,
  type DataSourceOptions,
  type LoggerOptions,
} from "typeorm";
import { AggregateRoot, VersionColumn, disableOccWarning, type OccWarningCode } from "typeorm-occ";
import { startUpWarningsFixture } from "../support/start-up-warnings";
import { eachDriver } from "../support/each-driver";

/**
 * Issue 17, silent pitfalls: DataSource.initialize() warns, once per entity, about TypeORM's own
 * @VersionColumn() (unchecked by typeorm-occ) and about an aggregate root's one-to-many without
 * cascade (its children are not members). The warning goes to the DataSource's logger, and to
 * process.emitWarning when `logging` does not enable "warn". Warnings are given once per entity in
 * the process, so every test declares fresh entity classes.
 */

/** TypeORM's own version column: the first mistake of a conversion. */
function typeOrmVersioned() {
  @Entity({ name: "legacy_doc" })
  class LegacyDoc {
    @PrimaryGeneratedColumn() id!: number;
    @Column("varchar") title!: string;
    @TypeOrmVersionColumn() version!: number;
  }
  return { LegacyDoc };
}

/** A root whose one-to-many has no cascade: its notes are outside the aggregate. */
function uncascadedRoot() {
  @AggregateRoot()
  @Entity({ name: "ticket" })
  class Ticket {
    @PrimaryGeneratedColumn() id!: number;
    @VersionColumn() version!: number;
    @OneToMany(() => TicketNote, (note) => note.ticket) notes!: TicketNote[];
  }
  @Entity({ name: "ticket_note" })
  class TicketNote {
    @PrimaryGeneratedColumn() id!: number;
    @ManyToOne(() => Ticket, (ticket) => ticket.notes) ticket!: Ticket;
  }
  return { Ticket, TicketNote };
}

/** Everything as typeorm-occ wants it: our version column, a cascaded member. */
function wellDeclared() {
  @AggregateRoot()
  @Entity({ name: "basket" })
  class Basket {
    @PrimaryGeneratedColumn() id!: number;
    @VersionColumn() version!: number;
    @OneToMany(() => BasketItem, (item) => item.basket, { cascade: true }) items!: BasketItem[];
  }
  @Entity({ name: "basket_item" })
  class BasketItem {
    @PrimaryGeneratedColumn() id!: number;
    @ManyToOne(() => Basket, (basket) => basket.items) basket!: Basket;
  }
  @Entity({ name: "plain_note" })
  class PlainNote {
    @PrimaryGeneratedColumn() id!: number;
  }
  return { Basket, BasketItem, PlainNote };
}

/**
 * A TypeORM logger that keeps what it is given through log(), and prints (here: nothing) by the
 * `logging` levels it is built with, as TypeORM's own loggers do.
 */
class RecordingLogger extends AbstractLogger {
  readonly messages: Array<{ level: string; message: string }> = [];
  constructor(logging?: LoggerOptions) {
    super(logging);
  }
  override log(level: "log" | "info" | "warn", message: unknown): void {
    this.messages.push({ level, message: String(message) });
    super.log(level, message);
  }
  protected writeLog(): void {}
}

eachDriver(undefined, { mariadb: true })("start-up warnings on %s", (driver) => {
  const fixture = startUpWarningsFixture(driver);

  /** Initializes a DataSource on the test database with these entities (no schema needed: the warnings come from the metadata). */
  async function initialize(entities: Function[], options: Partial<DataSourceOptions> = {}): Promise<RecordingLogger> {
    const logger = new RecordingLogger(options.logging);
    const dataSource = await fixture.db.open({ entities, logger, synchronize: false, ...options } as Partial<DataSourceOptions>);
    await dataSource.destroy();
    return logger;
  }
  const warningsOf = (logger: RecordingLogger) => logger.messages.filter((entry) => entry.level === "warn").map((entry) => entry.message);
  const processWarningCodes = () =>
    fixture.processWarnings.mock.calls.map((call) => (call[1] as { code?: OccWarningCode; type?: string }).code);

  it("warns about TypeORM's own @VersionColumn through the DataSource's logger, and not again for a second DataSource", async () => {
    const { LegacyDoc } = typeOrmVersioned();
    const logger = await initialize([LegacyDoc], { logging: ["warn"] });
    expect(warningsOf(logger)).toEqual([
      expect.stringMatching(
        /^typeorm-occ: LegacyDoc\.version is TypeORM's own @VersionColumn\(\), which typeorm-occ does not check: .*Import VersionColumn from "typeorm-occ" instead/,
      ),
    ]);
    expect(warningsOf(logger)[0]).toContain('disableOccWarning("typeorm-version-column")');
    expect(fixture.processWarnings).not.toHaveBeenCalled(); // the logger prints "warn" under this logging option

    const again = await initialize([LegacyDoc], { logging: ["warn"] });
    expect(warningsOf(again)).toEqual([]);
  });

  it("also emits a process warning when the DataSource's logging does not print warnings", async () => {
    const { LegacyDoc } = typeOrmVersioned();
    const logger = await initialize([LegacyDoc], { logging: false });
    expect(warningsOf(logger)).toHaveLength(1); // given to the logger, which does not print it
    expect(fixture.processWarnings).toHaveBeenCalledTimes(1);
    expect(fixture.processWarnings).toHaveBeenCalledWith(warningsOf(logger)[0], {
      type: "TypeOrmOccWarning",
      code: "typeorm-version-column",
    });
  });

  it.each([[true], ["all"], [["warn"]], [["error"]], [false]] as const)(
    "with TypeORM's own logger and logging %p, the warning is printed exactly once",
    async (logging) => {
      const { LegacyDoc } = typeOrmVersioned();
      const printed: unknown[][] = [];
      const consoles = (["log", "info", "warn", "error"] as const).map((method) =>
        jest.spyOn(console, method).mockImplementation((...args: unknown[]) => void printed.push(args)),
      );
      try {
        const dataSource = await fixture.db.open({ entities: [LegacyDoc], logging, synchronize: false } as Partial<DataSourceOptions>);
        await dataSource.destroy();
      } finally {
        for (const spy of consoles) spy.mockRestore();
      }
      const byLogger = printed.filter((args) => args.some((arg) => String(arg).includes("LegacyDoc.version is TypeORM's own")));
      const byProcess = fixture.processWarnings.mock.calls.filter((call) => String(call[0]).includes("LegacyDoc.version"));
      expect(byLogger.length + byProcess.length).toBe(1);
    },
  );

  it("warns about a root's one-to-many without cascade, naming the relation and the fix", async () => {
    const { Ticket, TicketNote } = uncascadedRoot();
    const logger = await initialize([Ticket, TicketNote]);
    expect(warningsOf(logger)).toEqual([
      expect.stringMatching(
        /^typeorm-occ: Ticket\.notes is a one-to-many to TicketNote without cascade, so TicketNote is not a member of the aggregate: .*Add cascade: true/,
      ),
    ]);
    expect(processWarningCodes()).toEqual(["uncascaded-member"]);
  });

  it("says nothing about typeorm-occ's version column, cascaded members and plain entities", async () => {
    const logger = await initialize(Object.values(wellDeclared()));
    expect(warningsOf(logger)).toEqual([]);
    expect(fixture.processWarnings).not.toHaveBeenCalled();
  });
});

// After every test above (which need the warnings on): disabling is process-wide.
eachDriver(undefined, { mariadb: true })("disableOccWarning on %s", (driver) => {
  const fixture = startUpWarningsFixture(driver);

  async function warnedCodes(entities: Function[]): Promise<string[]> {
    const logger = new RecordingLogger();
    const dataSource = await fixture.db.open({ entities, logger, synchronize: false } as Partial<DataSourceOptions>);
    await dataSource.destroy();
    const fromLogger = logger.messages
      .filter((entry) => entry.level === "warn")
      .map((entry) => /disableOccWarning\("([a-z-]+)"\)/.exec(entry.message)?.[1]);
    const fromProcess = fixture.processWarnings.mock.calls.map((call) => (call[1] as { code?: string }).code);
    return [...fromLogger, ...fromProcess].filter((code): code is string => code !== undefined);
  }

  it('disableOccWarning("typeorm-version-column") silences the warning about TypeORM\'s own @VersionColumn', async () => {
    disableOccWarning("typeorm-version-column");
    expect(await warnedCodes(Object.values(typeOrmVersioned()))).not.toContain("typeorm-version-column");
  });

  it('disableOccWarning("uncascaded-member") silences the warning about a one-to-many without cascade', async () => {
    disableOccWarning("uncascaded-member");
    expect(await warnedCodes(Object.values(uncascadedRoot()))).toEqual([]);
  });
});
