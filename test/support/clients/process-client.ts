import "reflect-metadata";
import { DataSource } from "typeorm";
import { describeError, type Outcome, type StepModule } from "./client";

/** A client process on a SQLite file: runs the steps its parent asks for, one at a time, in order. */
const [stepModulePath, database] = process.argv.slice(2);

const stepModule = require(stepModulePath) as StepModule;
const dataSource = new DataSource({ type: "better-sqlite3", database, enableWAL: true, timeout: 10000, entities: stepModule.entities });
const ready = dataSource.initialize().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
const state: Record<string, unknown> = {};
let queue: Promise<unknown> = ready;

process.on("message", (message) => {
  const { id, step, input } = message as { id: number; step: string; input: unknown };
  if (step === "__exit") {
    void queue.finally(() => dataSource.destroy()).finally(() => process.exit(0));
    return;
  }
  queue = queue.then(async () => {
    let outcome: Outcome;
    try {
      outcome = { ok: true, value: step === "__ready" ? null : await stepModule.steps[step]({ dataSource, state }, input) };
    } catch (error) {
      outcome = { ok: false, error: describeError(error) };
    }
    process.send?.({ id, outcome });
  });
});
