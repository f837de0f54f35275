/**
 * A history of operations, as seen by the clients that issued them. Library-independent: the
 * checker reads only these records and the final database state.
 */

/** How a client learned its operation ended. */
export type Outcome =
  /** The save returned: the write is committed. */
  | "acknowledged"
  /** The save was refused as a conflict (StaleDataError, serialization failure, SQLITE_BUSY) and rolled back. */
  | "stale"
  /** The library refused the write with a typed error before sending anything (e.g. an unguarded upsert()). */
  | "refused"
  /** Anything else: the write may or may not have been committed (a killed connection, a timeout). */
  | "error";

/** State of an entity as a client read or wrote it; JSON-comparable. */
export type EntityState = unknown;

export interface OpRecord {
  worker: string;
  /** The client operation this record belongs to (`w3#17`); one operation may change several entities (a move). */
  operation?: string;
  /** `counter:3`, `order:7`: kind and primary key. */
  entity: string;
  /** What the operation meant to do (`insert`, `increment`, `add-line`, …) and its arguments. */
  op: { type: string; [argument: string]: unknown };
  /** Version the client read before writing (null for inserts, or when the read itself failed). */
  versionRead: number | null;
  /** Version the database reported after the write (only for acknowledged writes). */
  versionWritten: number | null;
  /** The state the client read. */
  stateRead: EntityState;
  /** The state the client wrote (its read state with the operation applied). */
  stateWritten: EntityState;
  outcome: Outcome;
  /** False for an attempt that was retried; true for the operation's last attempt (exactly one per operation). */
  final?: boolean;
  /** For stale/error outcomes: the error's name or code. */
  reason?: string;
  /**
   * A multi-step transaction's writes to this entity, in the order it made them (then `op` only names
   * the transaction's shape). Replaying the record applies its acknowledged steps in order; the
   * version still moves once for the whole transaction.
   */
  steps?: StepRecord[];
}

/** One write of a multi-step transaction, as the client saw it end. */
export interface StepRecord {
  /** What the write meant to do, in the replay's terms (`increment`, `note`, `add-line`, …). */
  op: { type: string; [argument: string]: unknown };
  /**
   * The entity's state as the copy this write takes its values from showed it (a copy read before
   * the transaction, or inside it); null for a write that takes nothing from a copy (an increment
   * computed by the database, an insert, a copy that does not carry what the step changes).
   */
  stateRead: EntityState;
  /** `stale`: the write was refused as a conflict and the transaction went on without it. */
  outcome: "acknowledged" | "stale";
  /** The version the write reported (updateVersioned's result, the saved copy's version), if it reports one. */
  versionReported?: number;
  reason?: string;
}

export class History {
  readonly records: OpRecord[] = [];

  record(entry: OpRecord): void {
    this.records.push(entry);
  }

  merge(records: readonly OpRecord[]): void {
    for (const entry of records) this.records.push(entry);
  }
}

/** The client operations whose last attempt ended with one of `outcomes` (an operation counts once, however many entities it changed). */
export function operationsEnded(records: readonly OpRecord[], outcomes: readonly OpRecord["outcome"][], worker?: string): number {
  const ended = new Set<string>();
  for (const record of records) {
    if (record.final && outcomes.includes(record.outcome) && (!worker || record.worker === worker))
      ended.add(record.operation ?? `${record.worker}:${ended.size}`);
  }
  return ended.size;
}
