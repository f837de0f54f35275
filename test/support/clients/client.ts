import { fork, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import type { DataSource } from "typeorm";
import type { DriverName } from "../drivers";
import type { TestDatabase } from "../data-source";

/** What one step of a client ended with: its value, or the error it threw (as data, across processes). */
export type Outcome<T = unknown> = { ok: true; value: T } | { ok: false; error: { name: string; message: string; code?: string } };

/** A step a client can run: the client's own DataSource, a state object kept between its steps, and the input. */
export type Step = (client: { dataSource: DataSource; state: Record<string, unknown> }, input: unknown) => Promise<unknown>;

/** A module of steps, shared by in-process and child-process clients: `export const steps = { … }; export const entities = […]`. */
export interface StepModule {
  entities: Function[];
  steps: Record<string, Step>;
}

/** One writer with a connection of its own: a DataSource in this process, or a whole process on a SQLite file. */
export interface Client {
  run<T = unknown>(step: string, input?: unknown): Promise<Outcome<T>>;
  close(): Promise<void>;
}

export function describeError(error: unknown): { name: string; message: string; code?: string } {
  const { name, message, code, driverError } = (error ?? {}) as {
    name?: string;
    message?: string;
    code?: unknown;
    driverError?: { code?: unknown };
  };
  const errorCode = driverError?.code ?? code;
  return { name: name ?? "Error", message: message ?? String(error), code: errorCode === undefined ? undefined : String(errorCode) };
}

async function outcomeOf<T>(work: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (error) {
    return { ok: false, error: describeError(error) };
  }
}

/**
 * `count` clients on the test database. PostgreSQL and MariaDB clients are DataSources of their
 * own in this process (separate connections); SQLite clients are child processes on the same file,
 * because one process's better-sqlite3 connections would block each other's event loop.
 */
export async function openClients(db: TestDatabase, count: number, stepModulePath: string): Promise<Client[]> {
  if (db.driver === "sqlite") {
    const database = (db.dataSource.options as { database: string }).database;
    return Promise.all(Array.from({ length: count }, () => processClient(stepModulePath, database)));
  }

  const module = require(stepModulePath) as StepModule;
  return Promise.all(
    Array.from({ length: count }, async () => {
      const dataSource = await db.open({ entities: module.entities });
      const state: Record<string, unknown> = {};
      return {
        run: <T>(step: string, input?: unknown) => outcomeOf(() => module.steps[step]({ dataSource, state }, input) as Promise<T>),
        close: async () => {
          if (dataSource.isInitialized) await dataSource.destroy();
        },
      };
    }),
  );
}

function processClient(stepModulePath: string, database: string): Promise<Client> {
  const child: ChildProcess = fork(join(__dirname, "process-client.ts"), [stepModulePath, database], {
    execArgv: ["-r", join(__dirname, "../../stress/register-ts.js")],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  let next = 0;
  const pending = new Map<number, (outcome: Outcome) => void>();
  child.on("message", (message) => {
    const { id, outcome } = message as { id: number; outcome: Outcome };
    pending.get(id)?.(outcome);
    pending.delete(id);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const call = <T>(step: string, input?: unknown) =>
    new Promise<Outcome<T>>((resolve, reject) => {
      const id = next++;
      pending.set(id, resolve as (outcome: Outcome) => void);
      child.send({ id, step, input }, (error) => error && reject(error));
    });
  return call("__ready").then(() => ({
    run: call,
    close: async () => {
      child.send({ id: -1, step: "__exit" });
      await exited;
    },
  }));
}

export type { DriverName };
