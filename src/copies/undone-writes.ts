import type { ReadStamp } from "./read-stamps";

/** A write a transaction made and then rolled back (a savepoint, or the whole transaction). */
interface UndoneWrite {
  seq: number;
  /** When it was rolled back: a copy read in between held its uncommitted data. */
  rolledBackAt: number;
}

/** By transaction token (see ReadStamp.transaction), then row key. Dropped with the token. */
const undone = new WeakMap<object, Map<string, UndoneWrite[]>>();

/** Remembers that `transaction` rolled back its write (at `seq`) to the row `key`, now. */
export function recordUndoneWrite(transaction: object, key: string, seq: number, rolledBackAt: number): void {
  let byRow = undone.get(transaction);
  if (!byRow) undone.set(transaction, (byRow = new Map()));
  const list = byRow.get(key) ?? [];
  list.push({ seq, rolledBackAt });
  byRow.set(key, list);
}

/** The copy was read after a write to the row that its transaction rolled back later: its data never existed. */
export function undoneWriteSeen(stamp: ReadStamp, key: string): boolean {
  if (!stamp.transaction) return false;
  return (undone.get(stamp.transaction)?.get(key) ?? []).some((write) => write.seq < stamp.seq && stamp.seq < write.rolledBackAt);
}
