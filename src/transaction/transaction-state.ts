import type { EntityMetadata, QueryRunner } from "typeorm";
import { transactionDepthOf } from "../internals/typeorm-internals";
import { tick } from "../copies/clock";
import { recordUndoneWrite } from "../copies/undone-writes";

/** Puts back one in-memory value typeorm-occ (or TypeORM on its behalf) changed. */
export type Undo = () => void;

/** A row version this transaction moved: from the version it found to the one it wrote. */
export interface MovedVersion {
  /** The version the row had before this transaction moved it; undefined when not known. */
  from: number | undefined;
  /** The version the row has now, inside this transaction; undefined when not known. */
  to: number | undefined;
}

/**
 * A write this transaction made that a copy read before it does not show:
 * - `row`: the row's own columns (an UPDATE, DELETE, soft removal or recovery of that row);
 * - `member`: a row inside the row's aggregate (the row is its root) was inserted into it, updated,
 *   or deleted from it (or moved out of or into it). `member` names that row; `key` is undefined
 *   when the write does not know which rows it matched.
 * `seq` orders it against the reads of copies (see copies/read-stamps).
 */
export type RowWrite =
  | { seq: number; kind: "row" }
  | { seq: number; kind: "member"; change: "insert" | "update" | "delete"; member: { metadata: EntityMetadata; key: string | undefined } };

interface Entry<T> {
  value: T;
  /** Transaction depth (1 = outermost, >1 = savepoints) the entry belongs to. */
  depth: number;
}

/**
 * What typeorm-occ remembers about the transaction open on one query runner:
 * - which rows' versions it already moved, from which version to which (a version moves once per
 *   transaction, and a copy this transaction read before its own move is not stale), and
 * - the in-memory version changes to undo if that transaction (or a savepoint) rolls back,
 *   so that "reload and retry" works and a blind retry fails again.
 * Kept in a WeakMap: a released query runner takes its state with it.
 */
class TransactionState {
  private undos: Entry<Undo>[] = [];
  private moved = new Map<string, Entry<MovedVersion>>();
  private writes = new Map<string, Entry<RowWrite>[]>();
  /** This transaction, as the copies read inside it name it: a new object for each transaction on the runner. */
  token: object = {};

  movedVersion(key: string): MovedVersion | undefined {
    return this.moved.get(key)?.value;
  }

  /**
   * The version a write in this transaction must find for a row whose copy carries `carried`:
   * the version this transaction moved the row to, when the copy holds the version from before
   * (or after) that move; otherwise the carried version itself.
   */
  currentVersion(key: string, carried: number): number {
    const moved = this.moved.get(key)?.value;
    if (moved?.to !== undefined && (carried === moved.from || carried === moved.to)) return moved.to;
    return carried;
  }

  recordMove(key: string, move: MovedVersion, depth: number): void {
    const known = this.moved.get(key);
    if (!known) {
      this.moved.set(key, { value: { ...move }, depth });
      return;
    }
    known.value.from ??= move.from;
    known.value.to ??= move.to;
  }

  /** What this transaction wrote to the row (its own columns, or inside its aggregate), oldest first. */
  writesTo(key: string): RowWrite[] {
    return (this.writes.get(key) ?? []).map((entry) => entry.value);
  }

  recordWrite(key: string, write: RowWrite, depth: number): void {
    const list = this.writes.get(key) ?? [];
    list.push({ value: write, depth });
    this.writes.set(key, list);
  }

  recordUndos(undos: Undo[], depth: number): void {
    for (const value of undos) this.undos.push({ value, depth });
  }

  /** A transaction level ended with COMMIT / RELEASE SAVEPOINT; `depth` is the level now open. */
  committed(depth: number): void {
    if (depth === 0) {
      this.undos = [];
      this.moved.clear();
      this.writes.clear();
      this.token = {};
      return;
    }
    for (const entry of this.undos) if (entry.depth > depth) entry.depth = depth;
    for (const entry of this.moved.values()) if (entry.depth > depth) entry.depth = depth;
    for (const list of this.writes.values()) for (const entry of list) if (entry.depth > depth) entry.depth = depth;
  }

  /** A transaction level rolled back; `depth` is the level now open. Restores versions it changed. */
  rolledBack(depth: number): void {
    const undone = this.undos.filter((entry) => entry.depth > depth);
    this.undos = this.undos.filter((entry) => entry.depth <= depth);
    for (const { value: undo } of undone.reverse()) undo();
    for (const [key, entry] of this.moved) if (entry.depth > depth) this.moved.delete(key);
    const rolledBackAt = tick();
    for (const [key, list] of this.writes) {
      // A copy read between such a write and now holds data that was never committed.
      for (const entry of list) if (entry.depth > depth) recordUndoneWrite(this.token, key, entry.value.seq, rolledBackAt);
      const kept = list.filter((entry) => entry.depth <= depth);
      if (kept.length > 0) this.writes.set(key, kept);
      else this.writes.delete(key);
    }
    if (depth === 0) this.token = {};
  }
}

export type { TransactionState };

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
