import type { EntityMetadata, ObjectLiteral } from "typeorm";
import { aggregateGraphOf } from "../aggregate/aggregate-graph";
import { rootLoadedWith } from "../aggregate/loaded-with";
import { hasWriteListeners, listensToWrites } from "../persistence/call-atomicity";
import { dataSourceOf, type PersistenceSubject, type PersistenceUnit, type PreloadCall } from "../internals/typeorm-internals";
import { currentPersistCall } from "../persistence/persist-call";
import { readVersions, staleErrorFromVersion } from "../persistence/stale-lookup";
import { isVersionNumber } from "../version/version-value";
import { occVersionColumn, rowKey } from "../version/versioned-metadata";
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
    const snapshot = usableSnapshot(subject, call.operation);
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
  const [{ metadata, entity }] = call.subjects;
  const graph = aggregateGraphOf(dataSourceOf(call.queryRunner));
  if (graph.isRoot(metadata) || graph.isMember(metadata)) return; // roots move beside members: more than one statement
  // Statements TypeORM adds after its pre-load (links, orphans) come from relations other than a key in the row.
  const heldBeyondRow = metadata.relations.some(
    (relation) => !(relation.isManyToOne || relation.isOneToOneOwner) && relation.getEntityValue(entity!) !== undefined,
  );
  if (heldBeyondRow || (call.operation === "remove" && metadata.manyToManyRelations.length > 0)) return;
  if (dataSourceOf(call.queryRunner).subscribers.some(listensToWrites) || hasWriteListeners(metadata)) return;
  persist.dropOwnTransaction();
}

function usableSnapshot(subject: PersistenceSubject, operation: "save" | "remove"): ObjectLiteral | undefined {
  const { entity, metadata } = subject;
  if (!entity || !subject.identifier || subject.databaseEntity || !snapshotsCopiesOf(metadata)) return undefined;
  const snapshot = snapshotOf(entity);
  if (!snapshot || !carriesItsRead(metadata, entity)) return undefined;
  // Every relation the copy holds must have been held when read (its keys then are what TypeORM would load).
  if (
    metadata.relations.some((relation) => relation.getEntityValue(entity) !== undefined && relation.getEntityValue(snapshot) === undefined)
  )
    return undefined;
  // A removal reads every many-to-many link (to delete it): the copy must have held them all.
  if (operation === "remove" && metadata.manyToManyRelations.some((relation) => relation.getEntityValue(snapshot) === undefined))
    return undefined;
  if (rowKey(metadata, entity) !== rowKey(metadata, snapshot)) return undefined;
  return snapshot;
}

/**
 * The check the write makes is against the version the copy was read at: its own for a versioned
 * row; for a member without one, its root's, read with it (the root moves with every change inside).
 */
function carriesItsRead(metadata: EntityMetadata, entity: ObjectLiteral): boolean {
  const column = occVersionColumn(metadata);
  if (column) {
    const version: unknown = column.getEntityValue(entity);
    return isVersionNumber(version) && readStampOf(entity)?.version === version;
  }
  const loaded = rootLoadedWith(entity);
  if (!loaded || !readStampOf(entity)) return false;
  const rootVersion: unknown = occVersionColumn(loaded.metadata)?.getEntityValue(loaded.root);
  return isVersionNumber(rootVersion) && readStampOf(loaded.root)?.version === rootVersion;
}

/** The subject's loaded row is its copy's snapshot: it says nothing the copy does not. */
export function preloadedFromSnapshot(subject: PersistenceSubject): boolean {
  return fromSnapshot.has(subject);
}

/** Versioned subjects pre-loaded from a snapshot that the unit does not write: their version is still compared. */
export function unverifiedSnapshots(unit: PersistenceUnit, checkedElsewhere: ReadonlySet<string> = new Set()): PersistenceSubject[] {
  return unit.allSubjects.filter(
    (subject) =>
      fromSnapshot.has(subject) &&
      occVersionColumn(subject.metadata) !== undefined &&
      !(subject.mustBeUpdated || subject.mustBeRemoved) &&
      !checkedElsewhere.has(rowKey(subject.metadata, subject.identifier!)),
  );
}

/**
 * A copy handed back unchanged writes nothing, so no statement checks it: one SELECT of the
 * versions (what TypeORM's pre-load would have read) still refuses a stale copy, as before.
 * `checkedElsewhere`: rows the unit checks anyway (aggregate roots moved or compared for their members).
 */
export async function verifyUnchangedSnapshots(unit: PersistenceUnit, checkedElsewhere: ReadonlySet<string>): Promise<void> {
  for (const subject of unverifiedSnapshots(unit, checkedElsewhere)) {
    const { metadata } = subject;
    const column = occVersionColumn(metadata)!;
    const carried = column.getEntityValue(subject.entity!) as number;
    const expected = expectedVersion(unit.queryRunner, {
      metadata,
      versionColumn: column,
      identifier: subject.identifier!,
      carried,
      copy: subject.entity,
      operation: "update",
    });
    const actual =
      (await readVersions(unit.queryRunner, metadata, column, [subject.identifier!])).get(rowKey(metadata, subject.identifier!)) ?? null;
    if (actual !== expected) {
      throw staleErrorFromVersion(
        {
          metadata,
          versionColumn: column,
          identifier: subject.identifier!,
          expectedVersion: carried,
          operation: "update",
          entity: subject.entity,
        },
        actual,
      );
    }
  }
}
