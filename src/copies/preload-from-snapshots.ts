import type { ObjectLiteral } from "typeorm";
import { hasWriteListeners, listensToWrites } from "../call-atomicity";
import { dataSourceOf, type PersistenceSubject, type PersistenceUnit, type PreloadCall } from "../internals/typeorm-internals";
import { currentPersistCall } from "../persist-call";
import { readVersions, staleErrorFromVersion } from "../stale-lookup";
import { isVersionNumber } from "../version-value";
import { occVersionColumn, rowKey } from "../versioned-metadata";
import { expectedVersion } from "./current-copy";
import { readStampOf } from "./read-stamps";
import { snapshotOf, snapshotsCopiesOf } from "./read-snapshots";

/** Subjects whose pre-load was their copy's snapshot: no statement has compared them with the row yet. */
const fromSnapshot = new WeakSet<PersistenceSubject>();

/**
 * Before TypeORM's pre-load SELECT: a copy that still carries the version it was read (or last
 * written) at is handed its snapshot as the loaded row — its checked write proves the row still
 * holds it — so TypeORM loads nothing for it. A call of one such copy, outside any transaction and
 * with no subscriber or listener that could write beside it, then sends one statement and needs no
 * transaction of its own.
 */
export function preloadFromSnapshots(call: PreloadCall): void {
  if (call.operation !== "save" && call.operation !== "remove") return;
  let all = call.subjects.length > 0;
  for (const subject of call.subjects) {
    const snapshot = usableSnapshot(subject);
    if (!snapshot) {
      all = false;
      continue;
    }
    subject.databaseEntity = snapshot;
    subject.databaseEntityLoaded = true;
    fromSnapshot.add(subject);
  }
  const persist = currentPersistCall();
  if (!all || call.subjects.length !== 1 || !persist || persist.chunked) return;
  const [{ metadata }] = call.subjects;
  if (dataSourceOf(call.queryRunner).subscribers.some(listensToWrites) || hasWriteListeners(metadata)) return;
  persist.dropOwnTransaction();
}

function usableSnapshot(subject: PersistenceSubject): ObjectLiteral | undefined {
  const { entity, metadata } = subject;
  if (!entity || !subject.identifier || subject.databaseEntity || !snapshotsCopiesOf(metadata)) return undefined;
  const snapshot = snapshotOf(entity);
  const version: unknown = occVersionColumn(metadata)!.getEntityValue(entity);
  if (!snapshot || !isVersionNumber(version) || readStampOf(entity)?.version !== version) return undefined;
  // Relations set on the copy would need their ids as loaded; the key must still be the one read.
  if (metadata.relations.some((relation) => relation.getEntityValue(entity) !== undefined)) return undefined;
  if (rowKey(metadata, entity) !== rowKey(metadata, snapshot)) return undefined;
  return snapshot;
}

/** Subjects pre-loaded from a snapshot that the unit does not write: their version is still compared. */
export function unverifiedSnapshots(unit: PersistenceUnit): PersistenceSubject[] {
  return unit.allSubjects.filter((subject) => fromSnapshot.has(subject) && !(subject.mustBeUpdated || subject.mustBeRemoved));
}

/**
 * A copy handed back unchanged writes nothing, so no statement checks it: one SELECT of the
 * versions (what TypeORM's pre-load would have read) still refuses a stale copy, as before.
 */
export async function verifyUnchangedSnapshots(unit: PersistenceUnit): Promise<void> {
  for (const subject of unverifiedSnapshots(unit)) {
    const { metadata } = subject;
    const column = occVersionColumn(metadata)!;
    const carried = column.getEntityValue(subject.entity!) as number;
    const expected = expectedVersion(unit.queryRunner, { metadata, versionColumn: column, identifier: subject.identifier!, carried, copy: subject.entity, operation: "update" });
    const actual = (await readVersions(unit.queryRunner, metadata, column, [subject.identifier!])).get(rowKey(metadata, subject.identifier!)) ?? null;
    if (actual !== expected) {
      throw staleErrorFromVersion({ metadata, versionColumn: column, identifier: subject.identifier!, expectedVersion: carried, operation: "update", entity: subject.entity }, actual);
    }
  }
}
