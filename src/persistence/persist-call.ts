import { AsyncLocalStorage } from "node:async_hooks";
import type { QueryRunner } from "typeorm";
import type { PersistCall } from "../internals/typeorm-internals";
import { sharedQueryRunnerOf } from "../sqlite-gate/shared-connection-gate";

/**
 * Whose transaction a save()/remove() call runs in:
 * - `own`: TypeORM opens one for the call and rolls it back on any error;
 * - `caller`: the caller's transaction is already open (a transactional manager, or a save
 *   inside `transaction()` on SQLite's shared connection); a failure must not leave part of the
 *   call written when the caller catches the error and commits, so the call gets a savepoint;
 * - `none`: `{ transaction: false }` outside any transaction: every statement commits on its own.
 */
export type TransactionMode = "own" | "caller" | "none";

export interface PersistCallState {
  /** `own` becomes `none` when the call needs no transaction (see dropOwnTransaction). */
  mode: TransactionMode;
  /** The save was split into chunks: several units, one outcome. */
  readonly chunked: boolean;
  /** The query runner whose savepoint this call opened, if it opened one. */
  savepoint?: QueryRunner;
  /** Runs the call without the transaction TypeORM would open for it: one checked statement needs none. */
  dropOwnTransaction(): void;
}

const calls = new AsyncLocalStorage<PersistCallState>();

/** The save()/remove() call the current unit of work belongs to. */
export function currentPersistCall(): PersistCallState | undefined {
  return calls.getStore();
}

/**
 * Runs one save()/remove() call. When a unit of it opened a savepoint, the savepoint ends with
 * the call: released when everything succeeded, rolled back (undoing every unit of the call)
 * when anything failed.
 */
export async function runPersistCall(call: PersistCall, work: () => Promise<void>): Promise<void> {
  const runner = call.queryRunner ?? sharedQueryRunnerOf(call.dataSource);
  const mode: TransactionMode = runner?.isTransactionActive ? "caller" : call.options?.transaction === false ? "none" : "own";
  const state: PersistCallState = {
    mode,
    chunked: (call.options?.chunk ?? 0) > 0,
    dropOwnTransaction() {
      if (state.mode !== "own") return;
      call.dropOwnTransaction();
      state.mode = "none";
    },
  };
  try {
    await calls.run(state, work);
  } catch (error) {
    if (state.savepoint) {
      try {
        await state.savepoint.rollbackTransaction();
      } catch {
        // The original error says what went wrong; a failed rollback (a dead connection) adds nothing.
      }
    }
    throw error;
  }
  if (state.savepoint) await state.savepoint.commitTransaction();
}

/** Opens the call's savepoint on the caller's transaction (once per call). */
export async function openSavepoint(state: PersistCallState, queryRunner: QueryRunner): Promise<void> {
  if (state.savepoint) return;
  await queryRunner.startTransaction();
  state.savepoint = queryRunner;
}
