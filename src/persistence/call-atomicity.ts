import type { EntityMetadata } from "typeorm";
import { aggregateGraphOf } from "../aggregate/aggregate-graph";
import { TransactionRequiredError } from "../errors";
import type { PersistenceSubject, PersistenceUnit } from "../internals/typeorm-internals";
import { dataSourceOf } from "../internals/typeorm-internals";
import { currentPersistCall, openSavepoint } from "./persist-call";
import { occVersionColumn } from "../version/versioned-metadata";

/** Subjects this unit writes that typeorm-occ guards: versioned rows and rows inside an aggregate. */
function guardedSubjects(unit: PersistenceUnit): PersistenceSubject[] {
  const graph = aggregateGraphOf(dataSourceOf(unit.queryRunner));
  return unit.allSubjects.filter(
    (subject) =>
      (occVersionColumn(subject.metadata) || graph.isMember(subject.metadata)) &&
      (subject.mustBeInserted || subject.mustBeUpdated || subject.mustBeRemoved || subject.mustBeSoftRemoved || subject.mustBeRecovered),
  );
}

/**
 * A unit that writes more than one statement with a check among them must be all-or-nothing
 * whatever the caller does with its error: inside the caller's transaction it gets a savepoint
 * (released on success, rolled back on failure, so a caught StaleDataError leaves nothing behind);
 * with `{ transaction: false }` outside any transaction it cannot be made atomic and is refused.
 * A single checked statement needs neither: when it fails it wrote nothing.
 */
export async function secureAtomicity(unit: PersistenceUnit): Promise<void> {
  const call = currentPersistCall();
  if (!call || call.mode === "own" || call.savepoint) return;
  const guarded = guardedSubjects(unit);
  if (guarded.length === 0) return;
  const graph = aggregateGraphOf(dataSourceOf(unit.queryRunner));
  const writes =
    unit.insertSubjects.length +
    unit.allSubjects.filter((subject) => subject.mustBeUpdated).length +
    unit.removeSubjects.length +
    unit.softRemoveSubjects.length +
    unit.recoverSubjects.length +
    (guarded.some((subject) => graph.isMember(subject.metadata)) ? 1 : 0); // a root moved for its members
  const listeners =
    dataSourceOf(unit.queryRunner).subscribers.some(listensToWrites) || guarded.some((subject) => hasAfterListeners(subject.metadata));
  if (call.mode === "none") {
    // Several chunks are several units; a subscriber that writes adds statements of its own.
    if (writes <= 1 && !call.chunked && !listeners) return;
    const subject = guarded[0];
    throw new TransactionRequiredError(
      subject.metadata.name,
      `this save()/remove() writes more than one statement (${call.chunked ? "in chunks" : listeners ? "with subscribers writing too" : `${writes} of them`}) with a version check among them; with { transaction: false } a conflict halfway would leave part of it written. ` +
        "Drop { transaction: false }, or run it inside dataSource.transaction()",
    );
  }
  if (writes > 1 || call.chunked || listeners) await openSavepoint(call, unit.queryRunner);
}

const WRITE_EVENTS = ["Insert", "Update", "Remove", "SoftRemove", "Recover"].flatMap((event) => [`before${event}`, `after${event}`]);

/** A subscriber that may write (or throw after our write) during a save: its statements belong to the save. */
export function listensToWrites(subscriber: object): boolean {
  return WRITE_EVENTS.some((event) => typeof (subscriber as Record<string, unknown>)[event] === "function");
}

/** Entity listeners of any write event (before or after): they run inside the save. */
export function hasWriteListeners(metadata: EntityMetadata): boolean {
  return (
    hasAfterListeners(metadata) ||
    [
      metadata.beforeInsertListeners,
      metadata.beforeUpdateListeners,
      metadata.beforeRemoveListeners,
      metadata.beforeSoftRemoveListeners,
      metadata.beforeRecoverListeners,
    ].some((listeners) => listeners.length > 0)
  );
}

function hasAfterListeners(metadata: EntityMetadata): boolean {
  return [
    metadata.afterInsertListeners,
    metadata.afterUpdateListeners,
    metadata.afterRemoveListeners,
    metadata.afterSoftRemoveListeners,
    metadata.afterRecoverListeners,
  ].some((listeners) => listeners.length > 0);
}
