import type { QueryRunner } from "typeorm";
import { transactionDepthOf } from "./internals/typeorm-internals";

/** Puts back one in-memory value typeorm-occ (or TypeORM on its behalf) changed. */
export type Undo = () => void;

interface Entry<T> {
  value: T;
  /** Transaction depth (1 = outermost, >1 = savepoints) the entry belongs to. */
  depth: number;
}

/**
 * What typeorm-occ remembers about the transaction open on one query runner:
 * - which rows' versions it already moved (a version moves once per transaction), and
 * - the in-memory version changes to undo if that transaction (or a savepoint) rolls back,
 *   so that "reload and retry" works and a blind retry fails again.
 * Kept in a WeakMap: a released query runner takes its state with it.
 */
class TransactionState {
  private undos: Entry<Undo>[] = [];
  private bumped = new Map<string, number>();

  hasBumped(key: string): boolean {
    return this.bumped.has(key);
  }

  markBumped(key: string, depth: number): void {
    if (!this.bumped.has(key)) this.bumped.set(key, depth);
  }

  recordUndos(undos: Undo[], depth: number): void {
    for (const value of undos) this.undos.push({ value, depth });
  }

  /** A transaction level ended with COMMIT / RELEASE SAVEPOINT; `depth` is the level now open. */
  committed(depth: number): void {
    if (depth === 0) {
      this.undos = [];
      this.bumped.clear();
      return;
    }
    for (const entry of this.undos) if (entry.depth > depth) entry.depth = depth;
    for (const [key, at] of this.bumped) if (at > depth) this.bumped.set(key, depth);
  }

  /** A transaction level rolled back; `depth` is the level now open. Restores versions it changed. */
  rolledBack(depth: number): void {
    const undone = this.undos.filter((entry) => entry.depth > depth);
    this.undos = this.undos.filter((entry) => entry.depth <= depth);
    for (const { value: undo } of undone.reverse()) undo();
    for (const [key, at] of this.bumped) if (at > depth) this.bumped.delete(key);
  }
}

const states = new WeakMap<QueryRunner, TransactionState>();

export function transactionStateOf(queryRunner: QueryRunner): TransactionState {
  let state = states.get(queryRunner);
  if (!state) {
    state = new TransactionState();
    states.set(queryRunner, state);
  }
  return state;
}

export function transactionCommitted(queryRunner: QueryRunner): void {
  states.get(queryRunner)?.committed(transactionDepthOf(queryRunner));
}

export function transactionRolledBack(queryRunner: QueryRunner): void {
  states.get(queryRunner)?.rolledBack(transactionDepthOf(queryRunner));
}
