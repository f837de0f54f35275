import type { ObjectLiteral, QueryRunner } from "typeorm";
import { transactionDepthOf, type PersistenceSubject, type PersistenceUnit } from "../internals/typeorm-internals";
import { mergeGenerated } from "../persistence/subject-results";
import { transactionStateOf, type Undo } from "../transaction/transaction-state";
import { isVersionNumber } from "../version/version-value";
import { currentPersistCall } from "../persistence/persist-call";
import { readVersions, readsFromSnapshot, staleErrorFromVersion } from "../persistence/stale-lookup";
import { checkedUpdate } from "../persistence/versioned-writes";
import { expectedVersion, type CopyClaim } from "../copies/current-copy";
import { moveStampedVersion } from "../copies/read-stamps";
import { occVersionColumn } from "../version/versioned-metadata";
import type { RootRef } from "./root-resolver";
import type { PlannedRoot } from "./write-plan";

export interface RootWriteContext {
  undos: Undo[];
  /** Root subjects whose own UPDATE was folded into their first write. */
  writtenEarly: Set<PersistenceSubject>;
}

/**
 * Writes every changed aggregate's root before any other row of the unit, in the plan's fixed
 * order. A stale root fails here, before a member row is touched; and since every writer of an
 * aggregate takes its root row's lock first, two writers of one aggregate queue on the root
 * instead of deadlocking on its members, and the loser gets StaleDataError.
 * - The root's own changes in this unit ride in this first UPDATE when they can (no value waits
 *   for a row the unit has yet to insert), so the version moves once and no statement is added.
 * - A root the unit writes later anyway (an UPDATE that can't go first, a removal) is locked and
 *   checked without moving: `SET version = v WHERE … AND version = v`.
 * - Any other root moves by one: checked against the version the caller holds, or unchecked
 *   (`version + 1`, the new version read back) when the caller holds none.
 * A root this transaction already moved is locked already and is not written again.
 */
export async function writeRootsFirst(unit: PersistenceUnit, roots: PlannedRoot[], context: RootWriteContext): Promise<void> {
  if (roots.length === 0) return;
  const queryRunner = unit.queryRunner;
  const state = transactionStateOf(queryRunner);
  const depth = transactionDepthOf(queryRunner);
  const reload = unit.options?.reload !== false;
  for (const root of roots) {
    const { ref } = root;
    const column = occVersionColumn(ref.metadata)!;
    const moved = state.movedVersion(ref.key);
    const write = { metadata: ref.metadata, versionColumn: column, identifier: ref.primaryKey, entity: ref.subject?.entity ?? ref.entity };

    const subject = ref.subject;
    const folds = subject !== undefined && subject.mustBeUpdated && foldable(subject, unit);
    if (root.carried === undefined || (!folds && !root.writtenLater)) {
      await moveRoots(queryRunner, [root], context.undos);
      continue;
    }
    // The root row is written by this unit anyway: its changes go first now, or it is locked for later.
    const expected = expectedVersion(queryRunner, claimOf(root, root.carried));
    if (moved && expected === moved.to) continue;
    if (folds) {
      const next = expected + 1;
      const generated = await checkedUpdate(queryRunner, {
        ...write,
        values: subject!.createValueSetAndPopChangeMap(),
        expectedVersion: expected,
        nextVersion: next,
        reload,
      });
      mergeGenerated(unit, subject!, generated, column, next);
      context.writtenEarly.add(subject!);
      state.recordMove(ref.key, { from: expected, to: next }, depth);
    } else {
      await checkedUpdate(queryRunner, { ...write, values: {}, expectedVersion: expected, nextVersion: expected, reload: false });
    }
  }
}

/** A root to move by one: checked against the version its holder read, or unchecked. */
export interface RootToMove {
  ref: RootRef;
  carried: number | undefined;
  /** The member objects written with the root's check (see CopyClaim.members). */
  members?: CopyClaim["members"];
}

/** The claim a root's copy makes for its aggregate: its own object, and the members written under it. */
function claimOf(root: RootToMove, carried: number): CopyClaim {
  const { ref } = root;
  return {
    metadata: ref.metadata,
    versionColumn: occVersionColumn(ref.metadata)!,
    identifier: ref.primaryKey,
    carried,
    copy: ref.subject?.entity ?? ref.entity,
    members: root.members,
    operation: "update",
  };
}

/**
 * Moves each root's version by one, once per transaction, in the given order (sort by key first
 * when taking several): `SET version = v + 1 WHERE <pk> AND version = v` against the version the
 * caller holds (StaleDataError when it moved), or `version = version + 1` with the new version read
 * back when the caller holds none. A root this transaction already moved is not written again.
 * The caller's root objects follow (undone on rollback through `undos`). `callerReadsAfter`: false
 * when the transaction is the library's own and reads nothing after its writes (no snapshot check).
 */
export async function moveRoots(queryRunner: QueryRunner, roots: RootToMove[], undos: Undo[], callerReadsAfter = true): Promise<void> {
  const state = transactionStateOf(queryRunner);
  const depth = transactionDepthOf(queryRunner);
  for (const root of roots) {
    const { ref, carried } = root;
    const column = occVersionColumn(ref.metadata)!;
    const moved = state.movedVersion(ref.key);
    const entity = ref.subject?.entity ?? ref.entity;
    const write = { metadata: ref.metadata, versionColumn: column, identifier: ref.primaryKey, entity, values: {} };
    if (carried === undefined) {
      if (moved) continue;
      const seen = callerReadsAfter ? await snapshotVersion(queryRunner, ref) : undefined;
      const generated = await checkedUpdate(queryRunner, { ...write, expectedVersion: undefined, nextVersion: "increment", reload: true });
      const to = generated ? Number(column.getEntityValue(generated)) : undefined;
      if (!isVersionNumber(to)) continue;
      // The move wrote past the transaction's snapshot: the aggregate this transaction reads is older
      // than the version it now holds as its own, and a save from such a read would pass the check.
      if (seen !== undefined && seen !== to - 1)
        throw staleErrorFromVersion({ ...write, expectedVersion: seen, operation: "update" }, to - 1);
      state.recordMove(ref.key, { from: to - 1, to }, depth);
      continue;
    }
    const expected = expectedVersion(queryRunner, claimOf(root, carried));
    if (moved && expected === moved.to) continue;
    await checkedUpdate(queryRunner, { ...write, expectedVersion: expected, nextVersion: expected + 1, reload: false });
    state.recordMove(ref.key, { from: expected, to: expected + 1 }, depth);
    for (const object of new Set([ref.subject?.entity, ref.entity])) {
      if (object) moveInMemory(object, column, expected + 1, undos);
    }
  }
}

/**
 * On MySQL/MariaDB inside the caller's transaction, the root's version as the transaction's plain
 * reads see it (its REPEATABLE READ snapshot, fixed by its first read), where an UPDATE reads the
 * latest row. Elsewhere reads see the latest committed rows (or fail on newer ones), and a
 * transaction save() opened for itself reads nothing after its writes: nothing to compare.
 */
async function snapshotVersion(queryRunner: QueryRunner, ref: RootRef): Promise<number | undefined> {
  if (!queryRunner.isTransactionActive || currentPersistCall()?.mode === "own" || !readsFromSnapshot(queryRunner)) return undefined;
  const versions = await readVersions(queryRunner, ref.metadata, occVersionColumn(ref.metadata)!, [ref.primaryKey], true);
  return versions.get(ref.key);
}

/**
 * Moves the given roots that are not in `moved` yet, unchecked, in key order (the order every writer
 * locks roots in), and adds them to `moved`. Returns how many it moved: none means the set is stable.
 */
export async function moveNewRootsUnchecked(
  queryRunner: QueryRunner,
  roots: Iterable<RootRef>,
  moved: Set<string>,
  undos: Undo[],
  callerReadsAfter = true,
): Promise<number> {
  const fresh = new Map<string, RootRef>();
  for (const root of roots) if (!moved.has(root.key)) fresh.set(root.key, root);
  const ordered = [...fresh.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  await moveRoots(
    queryRunner,
    ordered.map((ref) => ({ ref, carried: undefined })),
    undos,
    callerReadsAfter,
  );
  ordered.forEach((root) => moved.add(root.key));
  return ordered.length;
}

/** The root's changes can go first unless one points at a row this unit has yet to insert. */
function foldable(subject: PersistenceSubject, unit: PersistenceUnit): boolean {
  const inserting = new Set<unknown>(unit.insertSubjects.flatMap((insert) => [insert, insert.entity]));
  return !subject.changeMaps.some((change) => change.relation && change.value !== null && inserting.has(change.value));
}

function moveInMemory(
  object: ObjectLiteral,
  column: NonNullable<ReturnType<typeof occVersionColumn>>,
  version: number,
  undos: Undo[],
): void {
  const previous = column.getEntityValue(object);
  undos.push(() => column.setEntityValue(object, previous));
  column.setEntityValue(object, version);
  const undoStamp = moveStampedVersion(object, version);
  if (undoStamp) undos.push(undoStamp);
}

/**
 * Compares the roots of members the unit was handed unchanged with the database (one SELECT per
 * entity, before any write): an unchanged member whose root moved since it was read is a stale copy,
 * like a versioned row whose pre-loaded version differs.
 */
export async function verifyUnchangedRoots(unit: PersistenceUnit, roots: PlannedRoot[]): Promise<void> {
  const byEntity = new Map<PlannedRoot["ref"]["metadata"], PlannedRoot[]>();
  for (const root of roots) byEntity.set(root.ref.metadata, [...(byEntity.get(root.ref.metadata) ?? []), root]);
  for (const [metadata, group] of byEntity) {
    const column = occVersionColumn(metadata)!;
    const actual = await readVersions(
      unit.queryRunner,
      metadata,
      column,
      group.map((root) => root.ref.primaryKey),
    );
    for (const root of group) {
      const found = actual.get(root.ref.key) ?? null;
      if (found === expectedVersion(unit.queryRunner, claimOf(root, root.carried!))) continue;
      throw staleErrorFromVersion(
        {
          metadata,
          versionColumn: column,
          identifier: root.ref.primaryKey,
          expectedVersion: root.carried!,
          operation: "update",
          entity: root.ref.entity,
        },
        found,
      );
    }
  }
}
