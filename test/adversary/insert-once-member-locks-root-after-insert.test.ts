import { Column, type DataSource, Entity, ManyToOne, OneToMany, PrimaryGeneratedColumn } from "typeorm";
import { AggregateRoot, VersionColumn, insertOnce } from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { enabledDrivers } from "../support/drivers";
import { Ledger, LedgerEntry } from "../writes/support/entities";
import { PauseBeforeQuery, pauseBeforeNext } from "./support/pause-before-query";

@AggregateRoot()
@Entity()
class Project {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") name!: string;
  @VersionColumn() version!: number;
  @OneToMany(() => Task, (task) => task.project, { cascade: true })
  tasks!: Task[];
}

@Entity()
class Task {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar") title!: string;
  @ManyToOne(() => Project, (project) => project.tasks, { onDelete: "CASCADE", orphanedRowAction: "delete" })
  project!: Project;
  @OneToMany(() => Comment, (comment) => comment.task, { cascade: true })
  comments!: Comment[];
}

@Entity()
class Comment {
  @PrimaryGeneratedColumn() id!: number;
  @Column("varchar", { unique: true }) requestKey!: string;
  @Column("varchar") text!: string;
  @ManyToOne(() => Task, (task) => task.comments, { onDelete: "CASCADE", orphanedRowAction: "delete" })
  task!: Task;
}

const entities = [Project, Task, Comment, Ledger, LedgerEntry];

/**
 * Adversary finding (deadlocks between aggregate writers, a raw driver error for the loser):
 * insertOnce of an aggregate member INSERTs the row first and only then moves (locks) its roots
 * (src/writes/insert-once.ts, member path: insertAndRead, then moveRootsOfRows). The INSERT's
 * foreign-key check already locks the parent row in shared mode (InnoDB: S record lock; PostgreSQL:
 * FOR KEY SHARE), so the library's "roots first, in one order" rule is broken:
 * - MariaDB: concurrent insertOnce calls adding different entries to one ledger all take S on the
 *   ledger row, then all ask for X to move its version: 9 of 10 die with ER_LOCK_DEADLOCK (1213).
 *   save() of the same new members (`entries.save({ …, ledger: { id } })`) moves the root first and
 *   never deadlocks.
 * - PostgreSQL and MariaDB: insertOnce of a comment under task T (key-share lock on T) while X's save
 *   of the project (root locked first, as documented) removes T: X waits for Y's lock on T, Y waits
 *   for X's lock on the project → "deadlock detected" (40P01) / 1213 as a QueryFailedError.
 * Promise (README "The root first", Guarantees "two connections"): roots are locked first in one
 * order, so aggregate writers don't deadlock and the loser gets StaleDataError, never a driver error.
 * Likely cause: src/writes/insert-once.ts (member path) — the roots are found from the new row's
 * parent chain after the INSERT; they could be found from `values` (the parent key given) and moved
 * before the INSERT, with the row's chain confirmed afterwards (and a created: false outcome rolled
 * back to its savepoint so nothing moves), as save() of a member inserted by key does.
 * Deterministic: Y pauses before its root UPDATE (after its INSERT) until X is blocked on Y's lock.
 */
describe.each(enabledDrivers({ mariadb: true }))(
  "insertOnce of aggregate members racing other writers of the aggregate on %s",
  (driver) => {
    let db: TestDatabase;
    let y: DataSource;
    beforeAll(async () => {
      db = await createTestDatabase(driver, { entities });
      y = await db.open({ entities, subscribers: [PauseBeforeQuery] });
    });
    afterAll(async () => db?.close());

    it("10 concurrent insertOnce calls with distinct keys under one root: all created, the root moved 10 times", async () => {
      const ledgers = db.dataSource.getRepository(Ledger);
      const entries = db.dataSource.getRepository(LedgerEntry);
      for (let round = 0; round < 3; round++) {
        const ledger = await ledgers.save(ledgers.create({ name: `r${round}` }));
        const outcomes = await Promise.allSettled(
          Array.from({ length: 10 }, (_, i) =>
            insertOnce(
              entries,
              { idempotencyKey: `k-${ledger.id}-${i}`, amount: i, ledger: { id: ledger.id } },
              { conflictPaths: ["idempotencyKey"] },
            ),
          ),
        );
        const failures = outcomes.flatMap((outcome) =>
          outcome.status === "rejected" ? [`${(outcome.reason as Error).name}: ${(outcome.reason as Error).message}`] : [],
        );
        expect(failures).toEqual([]);
        expect((await ledgers.findOneByOrFail({ id: ledger.id })).version).toBe(11);
      }
    });

    it("control: the same 10 new members through save() never deadlock", async () => {
      const ledgers = db.dataSource.getRepository(Ledger);
      const entries = db.dataSource.getRepository(LedgerEntry);
      const ledger = await ledgers.save(ledgers.create({ name: "save" }));
      const outcomes = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) => entries.save({ idempotencyKey: `s-${ledger.id}-${i}`, amount: i, ledger: { id: ledger.id } })),
      );
      expect(outcomes.filter((outcome) => outcome.status === "rejected")).toEqual([]);
      expect((await ledgers.findOneByOrFail({ id: ledger.id })).version).toBe(11);
    });

    (driver === "sqlite" ? it.skip : it)(
      "Y's insertOnce holds the task's key lock and waits for the project; X holds the project and deletes the task",
      async () => {
        const projects = db.dataSource.getRepository(Project);
        const project = await projects.save(
          projects.create({
            name: "p",
            tasks: [
              { title: "a", comments: [] },
              { title: "b", comments: [] },
            ],
          }),
        );
        const taskId = project.tasks.find((task) => task.title === "a")!.id;
        let xDone: Promise<string> | undefined;
        pauseBeforeNext(/^\s*UPDATE\b/i, async () => {
          xDone = (async () => {
            const mine = await projects.findOneOrFail({ where: { id: project.id }, relations: { tasks: true } });
            mine.tasks = mine.tasks.filter((task) => task.id !== taskId);
            return projects.save(mine).then(
              () => "saved",
              (error: Error) => `${error.name}: ${error.message}`,
            );
          })();
          await new Promise((resolve) => setTimeout(resolve, 500)); // X is now waiting for Y's lock on the task
        });
        const yOutcome = await insertOnce(
          y.getRepository(Comment),
          { requestKey: "k1", text: "hi", task: { id: taskId } },
          { conflictPaths: ["requestKey"] },
        ).then(
          () => "created",
          (error: Error) => `${error.name}: ${error.message}`,
        );
        const xOutcome = await xDone!;
        expect({ yOutcome, xOutcome }).toEqual({
          yOutcome: expect.stringMatching(/^(created|StaleDataError)/),
          xOutcome: expect.stringMatching(/^(saved|StaleDataError)/),
        });
      },
    );
  },
);
