import type { QueryRunner } from "typeorm";
import { transactionStateOf, type Undo } from "../transaction/transaction-state";
import { tick } from "./clock";

/**
 * What one copy of a row was read (or last written) as: the version its data was read at, when
 * and in which transaction. A copy carrying a version newer than its read, or saved in a
 * transaction after that transaction's own write to its row, would write data older than the
 * version it claims. Objects the caller built (request bodies) have none: their version is the claim.
 */
export interface ReadStamp {
  /** Position on one clock shared with the writes transactions record (see RowWrite.seq). */
  seq: number;
  /** The version the copy's data was read at; undefined for rows without a version of their own. */
  version: number | undefined;
  /** The transaction the copy was read in (its token), or undefined when read outside one. */
  transaction: object | undefined;
  /** The row was written again after this copy's own write, at the same version (a subscriber inside the save): the copy is behind it. */
  overtaken?: boolean;
}

/** Kept per object in a WeakMap: a copy the application drops takes its stamp with it. */
const stamps = new WeakMap<object, ReadStamp>();

export function readStampOf(object: object): ReadStamp | undefined {
  return stamps.get(object);
}

/** The transaction open on the runner, as stamps name it; undefined outside one. */
export function transactionTokenOf(queryRunner: QueryRunner | undefined): object | undefined {
  return queryRunner?.isTransactionActive ? transactionStateOf(queryRunner).token : undefined;
}

/** The object now holds the row as read (or written) through `queryRunner` at `version`, as of `seq` (now by default). */
export function stampRead(
  object: object,
  version: number | undefined,
  queryRunner: QueryRunner | undefined,
  seq = tick(),
  overtaken = false,
): Undo {
  const previous = stamps.get(object);
  stamps.set(object, { seq, version, transaction: transactionTokenOf(queryRunner), ...(overtaken ? { overtaken } : {}) });
  return () => (previous ? stamps.set(object, previous) : stamps.delete(object));
}

/**
 * The library moved the copy's version in memory (its root moved for a member saved through it):
 * the copy's own data is unchanged, so only the version it stands for follows.
 */
export function moveStampedVersion(object: object, version: number): Undo | undefined {
  const stamp = stamps.get(object);
  if (!stamp) return undefined;
  const previous = stamp.version;
  stamp.version = version;
  return () => {
    stamp.version = previous;
  };
}

/** The target now holds what the source was read as (refreshed in place from it). */
export function adoptStamp(target: object, source: object): void {
  const stamp = stamps.get(source);
  if (stamp) stamps.set(target, { ...stamp });
}
