import { fork, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import type { Outcome, TaskName } from "./tasks";

/**
 * Worker processes on one SQLite file, each with its own connection: the only way to have two
 * SQLite writers really compete (in one process, typeorm-occ queues write units on the shared
 * connection). `run` sends the same task to every worker at once and collects all outcomes.
 */
export class SqliteProcesses {
  private constructor(private readonly children: ChildProcess[]) {}

  static async start(database: string, count: number): Promise<SqliteProcesses> {
    const children = Array.from({ length: count }, () =>
      fork(join(__dirname, "write-worker.ts"), [JSON.stringify({ database })], {
        execArgv: ["-r", join(__dirname, "../../stress/register-ts.js")],
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      }),
    );
    await Promise.all(children.map((child) => reply(child, (message) => message === "ready")));
    return new SqliteProcesses(children);
  }

  async run(task: TaskName, ...args: unknown[]): Promise<Outcome[]> {
    const replies = this.children.map((child) => reply(child, (message) => typeof message === "object"));
    for (const child of this.children) child.send({ task, args });
    const answers = (await Promise.all(replies)) as Array<{ outcomes?: Outcome[]; failed?: string }>;
    return answers.flatMap((answer) => {
      if (!answer.outcomes) throw new Error(`worker failed: ${answer.failed}`);
      return answer.outcomes;
    });
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once("exit", () => resolve());
            child.send("exit");
          }),
      ),
    );
  }
}

function reply(child: ChildProcess, accept: (message: unknown) => boolean): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: unknown) => {
      if (!accept(message)) return;
      child.off("message", onMessage);
      child.off("exit", onExit);
      resolve(message);
    };
    const onExit = (code: number | null) => reject(new Error(`worker exited with ${code}`));
    child.on("message", onMessage);
    child.once("exit", onExit);
  });
}
