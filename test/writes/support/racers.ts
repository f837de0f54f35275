import type { DataSource } from "typeorm";
import type { TestDatabase } from "../../support/data-source";
import { SqliteProcesses } from "./sqlite-processes";
import { tasks, type Outcome, type TaskName } from "./tasks";

/**
 * Two independent writers on one database, each running a task's concurrent calls at the same
 * moment: two DataSources (two pools) on PostgreSQL and MariaDB, two worker processes on SQLite.
 */
export interface Racers {
  run(task: TaskName, ...args: unknown[]): Promise<Outcome[]>;
  stop(): Promise<void>;
}

export async function startRacers(db: TestDatabase, count = 2): Promise<Racers> {
  if (db.driver === "sqlite") {
    const database = (db.dataSource.options as { database: string }).database;
    const processes = await SqliteProcesses.start(database, count);
    return { run: (task, ...args) => processes.run(task, ...args), stop: () => processes.stop() };
  }
  const sources: DataSource[] = [];
  for (let i = 0; i < count; i++) sources.push(await db.open({ poolSize: 12 }));
  return {
    async run(task, ...args) {
      const run = tasks[task] as (dataSource: DataSource, ...rest: unknown[]) => Promise<Outcome[]>;
      return (await Promise.all(sources.map((source) => run(source, ...args)))).flat();
    },
    async stop() {
      for (const source of sources) await source.destroy();
    },
  };
}
