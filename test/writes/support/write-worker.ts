import "reflect-metadata";
import { DataSource } from "typeorm";
import { writeEntities } from "./entities";
import { tasks, type TaskName } from "./tasks";

/**
 * A worker process on a shared SQLite file (forked by sqlite-processes.ts): runs the task the
 * parent sends, with its own connection, and answers with the outcomes.
 */
interface Request {
  task: TaskName;
  args: unknown[];
}

async function main(): Promise<void> {
  const { database } = JSON.parse(process.argv[2]) as { database: string };
  const dataSource = new DataSource({ type: "better-sqlite3", database, enableWAL: true, timeout: 30000, entities: writeEntities });
  await dataSource.initialize();
  process.on("message", (message: Request | "exit") => {
    if (message === "exit") {
      void dataSource.destroy().then(() => process.exit(0));
      return;
    }
    const run = tasks[message.task] as (dataSource: DataSource, ...args: unknown[]) => Promise<unknown>;
    run(dataSource, ...message.args).then(
      (outcomes) => process.send!({ outcomes }),
      (error: unknown) => process.send!({ failed: String(error) }),
    );
  });
  process.send!("ready");
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
