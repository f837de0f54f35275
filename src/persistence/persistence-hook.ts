import type { DataSource, EntityMetadata, ObjectLiteral } from "typeorm";
import type { ColumnMetadata } from "typeorm/metadata/ColumnMetadata";
import { MissingVersionError } from "../errors";
import {
  dataSourceOf,
  transactionDepthOf,
  type PersistenceHook,
  type PersistenceSubject,
  type PersistenceUnit,
} from "../internals/typeorm-internals";
import { aggregateGraphOf } from "../aggregate/aggregate-graph";
import { attachAggregateLoadSubscribers } from "../aggregate/loaded-with";
import { confirmRoots } from "../aggregate/confirm-roots";
import { verifyUnchangedRoots, writeRootsFirst } from "../aggregate/lock-roots-first";
import { hasUnchangedMemberRoots, planAggregateWrites } from "../aggregate/write-plan";
import { isLibraryWrite, runLibraryWrite } from "../write-guard/library-write-context";
import { secureAtomicity } from "./call-atomicity";
import { assertDriverRequirements } from "../metadata/driver-requirements";
import { runPersistCall } from "./persist-call";
import { runWriteUnit } from "../sqlite-gate/shared-connection-gate";
import { staleErrorFromVersion } from "./stale-lookup";
import { mergeGenerated } from "./subject-results";
import { transactionStateOf, type Undo } from "../transaction/transaction-state";
import { attachTransactionSubscriber } from "../transaction/transaction-subscriber";
import { explainRejectedMetadata, validateDataSourceMetadata } from "../metadata/validate-metadata";
import { warnAboutMetadata } from "../metadata/metadata-warnings";
import { INITIAL_VERSION, isVersionNumber } from "../version/version-value";
import { assertStorableVersion } from "../version/version-range";
import { checkedDelete, checkedSoftDeleteOrRestore, checkedUpdate } from "./versioned-writes";
import { hasCompletePrimaryKey, occVersionColumn, primaryKeyValues, rowKey } from "../version/versioned-metadata";
import { guardBuilderWrite } from "../write-guard/write-guard";
import type { AggregatePlan } from "../aggregate/write-plan";
import type { StaleOperation } from "../errors";
import { asStaleDataError, claimedVersion, duplicateCopy, StaleCopy } from "../copies/claimed-version";
import { expectedVersion } from "../copies/current-copy";
import { attachReadStampSubscribers, stampQuietlyHydrated } from "../copies/read-stamp-subscriber";
import { recordUnitWrites, stampUnitCopies } from "../copies/unit-writes";
import { mergedInPlace, reloadInPlace } from "../copies/adopted-reads";
import {
  preloadFromSnapshots,
  preloadedFromSnapshot,
  unverifiedSnapshots,
  verifyUnchangedSnapshots,
} from "../copies/preload-from-snapshots";

/** What one unit of work (one SubjectExecutor run) needs to remember between its phases. */
interface UnitContext {
  inserted: Set<PersistenceSubject>;
  undos: Undo[];
  /** Root subjects whose own UPDATE was folded into their first write (before the inserts). */
  writtenEarly: Set<PersistenceSubject>;
  /** The aggregates the unit's changed members belong to (before and after), once planned. */
  membership?: AggregatePlan["membership"];
  /** The subjects that write, taken before TypeORM empties their change maps. */
  writing: PersistenceSubject[];
  /** When the unit's last statement returned (see recordUnitWrites). */
  writtenAt?: number;
}

const units = new WeakMap<PersistenceUnit, UnitContext>();
/** DataSources already validated and given their subscribers. */
const prepared = new WeakSet<DataSource>();

/** A subject typeorm-occ writes itself: a versioned entity the caller handed us (not an orphan row). */
function versionedEntity(subject: PersistenceSubject): { column: ColumnMetadata; entity: ObjectLiteral } | undefined {
  const column = occVersionColumn(subject.metadata);
  return column && subject.entity ? { column, entity: subject.entity } : undefined;
}

function carriedVersionOf(subject: PersistenceSubject, column: ColumnMetadata, entity: ObjectLiteral, operation: StaleOperation): number {
  const value = column.getEntityValue(entity);
  if (value === undefined || value === null) {
    throw new MissingVersionError(
      subject.metadata.name,
      column.propertyPath,
      primaryKeyValues(subject.metadata, subject.identifier ?? entity),
    );
  }
  return claimedVersion(subject.metadata, column, entity, value, operation);
}

/** The version a write of this row checks: what the copy carries, mapped onto this transaction's own move (see expectedVersion). */
function expectedVersionOf(
  unit: PersistenceUnit,
  subject: PersistenceSubject,
  column: ColumnMetadata,
  entity: ObjectLiteral,
  operation: StaleOperation,
  carried = carriedVersionOf(subject, column, entity, operation),
): number {
  if (!subject.identifier) return carried;
  return expectedVersion(unit.queryRunner, {
    metadata: subject.metadata,
    versionColumn: column,
    identifier: subject.identifier,
    carried,
    copy: entity,
    operation,
  });
}

export const persistenceHook: PersistenceHook = {
  metadataBuilt(dataSource: DataSource) {
    if (prepared.has(dataSource)) return;
    validateDataSourceMetadata(dataSource);
    assertDriverRequirements(dataSource);
    aggregateGraphOf(dataSource);
    warnAboutMetadata(dataSource);
    attachTransactionSubscriber(dataSource);
    attachAggregateLoadSubscribers(dataSource);
    attachReadStampSubscribers(dataSource);
    prepared.add(dataSource);
  },

  metadataRejected(dataSource: DataSource, error: unknown) {
    return explainRejectedMetadata(dataSource, error);
  },

  writeUnit(dataSource, work) {
    return runWriteUnit(dataSource, work);
  },

  preload(call) {
    preloadFromSnapshots(call);
  },

  reloaded(entity, original) {
    return reloadInPlace(entity, original);
  },

  hydratedQuietly(metadata, entities, queryRunner) {
    stampQuietlyHydrated(metadata, entities, queryRunner);
  },

  merged(metadata, target, sources) {
    mergedInPlace(metadata, target, sources);
  },

  persist(call, original) {
    const work = () => runPersistCall(call, original);
    return call.queryRunner ? work() : runWriteUnit(call.dataSource, work);
  },

  async builderWrite(write, work) {
    if (!isLibraryWrite()) guardBuilderWrite(write); // a rejected promise, like the execute() it stands for
    return write.queryRunner ? work() : runWriteUnit(write.dataSource, work);
  },

  mustRun(unit) {
    return hasUnchangedMemberRoots(unit) || unverifiedSnapshots(unit).length > 0;
  },

  async execute(unit, original) {
    // Normally done by initialize(); here too for entity files loaded while that build was running.
    this.metadataBuilt(dataSourceOf(unit.queryRunner));
    // Which subjects write, taken now: TypeORM empties their change maps as it writes them.
    const context: UnitContext = { inserted: new Set(), undos: [], writtenEarly: new Set(), writing: unit.allSubjects.filter(writes) };
    units.set(unit, context);
    const queryRunner = unit.queryRunner;
    try {
      validateBeforeWriting(unit, context);
      await secureAtomicity(unit);
      await original();
    } catch (error) {
      for (const undo of context.undos.reverse()) undo();
      throw error instanceof StaleCopy ? await asStaleDataError(error, queryRunner) : error;
    }
    stampUnitCopies(unit, context.writtenAt ?? recordUnitWrites(unit, context.writing, context.membership), context.undos);
    const depth = transactionDepthOf(queryRunner);
    // Outside a transaction each unit stands alone; inside one, undo on rollback.
    if (depth === 0) transactionStateOf(queryRunner).committed(0);
    else transactionStateOf(queryRunner).recordUndos(context.undos, depth);
  },

  async insert(unit, original) {
    const context = contextOf(unit);
    const queryRunner = unit.queryRunner;
    const state = transactionStateOf(queryRunner);
    const depth = transactionDepthOf(queryRunner);
    await runLibraryWrite(async () => {
      // Everything is resolved, validated and the roots locked before TypeORM's first INSERT.
      const plan = await planAggregateWrites(unit);
      context.membership = plan.membership;
      await verifyUnchangedRoots(unit, plan.unchanged);
      await verifyUnchangedSnapshots(unit, new Set([...plan.roots, ...plan.unchanged].map((root) => root.ref.key)));
      await writeRootsFirst(unit, plan.roots, context);
      await confirmRoots(unit, plan, context.undos);
      await original();
    });
    // Rows inserted by this unit hold their first version for the rest of the transaction.
    for (const subject of context.inserted) {
      if (subject.identifier)
        state.recordMove(rowKey(subject.metadata, subject.identifier), { from: undefined, to: INITIAL_VERSION }, depth);
    }
  },

  async update(unit, original) {
    const context = contextOf(unit);
    const queryRunner = unit.queryRunner;
    const state = transactionStateOf(queryRunner);
    const depth = transactionDepthOf(queryRunner);
    const all = unit.updateSubjects.filter((subject) => !context.writtenEarly.has(subject));
    const ours = all.filter((subject) => versionedEntity(subject));
    unit.updateSubjects = ours.length === 0 ? all : all.filter((subject) => !versionedEntity(subject));
    try {
      await runLibraryWrite(async () => {
        await original();
        const reload = unit.options?.reload !== false;
        for (const subject of ours) {
          const { column, entity } = versionedEntity(subject)!;
          const key = rowKey(subject.metadata, subject.identifier!);
          const expected = expectedVersionOf(
            unit,
            subject,
            column,
            entity,
            "update",
            context.inserted.has(subject) ? INITIAL_VERSION : undefined,
          );
          const moved = state.movedVersion(key);
          const next = moved?.to !== undefined && expected === moved.to ? expected : expected + 1;
          const generated = await checkedUpdate(queryRunner, {
            metadata: subject.metadata,
            versionColumn: column,
            identifier: subject.identifier!,
            values: subject.createValueSetAndPopChangeMap(),
            expectedVersion: expected,
            nextVersion: next,
            entity,
            reload,
          });
          mergeGenerated(unit, subject, generated, column, next);
          state.recordMove(key, { from: expected, to: next }, depth);
        }
      });
    } finally {
      // TypeORM reads updateSubjects afterwards: merged results and after-update events.
      unit.updateSubjects = [...all, ...context.writtenEarly];
    }
  },

  async remove(unit, original) {
    const all = unit.removeSubjects;
    try {
      await runLibraryWrite(async () => {
        // Same grouping as TypeORM (one DELETE per entity, in dependency order), versioned groups checked.
        for (const group of groupByEntity(all)) {
          const ours = group.filter((subject) => versionedEntity(subject));
          const rest = ours.length === 0 ? group : group.filter((subject) => !versionedEntity(subject));
          if (rest.length > 0) {
            unit.removeSubjects = rest;
            await original();
          }
          if (ours.length === 0) continue;
          const column = occVersionColumn(ours[0].metadata)!;
          await checkedDelete(
            unit.queryRunner,
            ours[0].metadata,
            column,
            ours.map((subject) => ({
              identifier: subject.identifier!,
              expectedVersion: expectedVersionOf(unit, subject, column, subject.entity!, "delete"),
              entity: subject.entity,
            })),
          );
        }
      });
    } finally {
      unit.removeSubjects = all;
    }
  },

  async softRemove(unit, original) {
    await softRemoveOrRecover(unit, original, "soft-delete");
  },

  async recover(unit, original) {
    await softRemoveOrRecover(unit, original, "restore");
    // The last phase: the unit's writes are done, its after-events (which may write or read) are next.
    const context = contextOf(unit);
    context.writtenAt = recordUnitWrites(unit, context.writing, context.membership);
  },
};

function contextOf(unit: PersistenceUnit): UnitContext {
  let context = units.get(unit);
  if (!context) {
    context = { inserted: new Set(), undos: [], writtenEarly: new Set(), writing: unit.allSubjects.filter(writes) };
    units.set(unit, context);
  }
  return context;
}

/**
 * Rejects bad input before the first statement of the unit: missing or malformed versions, a
 * version already known to be outdated (versions only grow, so a pre-loaded row at another version
 * proves staleness), and an object carrying a version whose row no longer exists.
 */
function validateBeforeWriting(unit: PersistenceUnit, context: UnitContext): void {
  const copies = new Map<string, ObjectLiteral>();
  for (const subject of unit.allSubjects) {
    const versioned = versionedEntity(subject);
    if (!versioned) continue;
    const { column, entity } = versioned;
    // Two objects of one row in a save that writes: TypeORM writes both (or their members), the second over the first.
    const row = subject.identifier && rowKey(subject.metadata, subject.identifier);
    const other = row ? copies.get(row) : undefined;
    if (other && other !== entity && context.writing.length > 0) {
      throw duplicateCopy(subject.metadata, column, entity, carriedVersionOf(subject, column, entity, "update"), "update");
    }
    if (row) copies.set(row, entity);
    const previous = column.getEntityValue(entity);
    context.undos.push(() => column.setEntityValue(entity, previous));

    if (subject.mustBeInserted) {
      context.inserted.add(subject);
      if (previous === undefined || previous === null) continue;
      const expected = assertStorableVersion(subject.metadata, column, previous);
      if (hasCompletePrimaryKey(subject.metadata, entity)) {
        // It was read from the database once, and its row has been deleted since.
        throw staleErrorFromVersion(
          {
            metadata: subject.metadata,
            versionColumn: column,
            identifier: primaryKeyValues(subject.metadata, entity),
            expectedVersion: expected,
            operation: "update",
            entity,
          },
          null,
        );
      }
      column.setEntityValue(entity, undefined); // a new row starts at version 1 whatever the object says
      continue;
    }
    const operation = subject.mustBeRemoved
      ? "delete"
      : subject.mustBeSoftRemoved
        ? "soft-delete"
        : subject.mustBeRecovered
          ? "restore"
          : subject.mustBeUpdated
            ? "update"
            : undefined;
    if (!operation) continue;
    const carried = carriedVersionOf(subject, column, entity, operation);
    const loaded = subject.databaseEntity && column.getEntityValue(subject.databaseEntity);
    const expected = expectedVersionOf(unit, subject, column, entity, operation, carried);
    // A snapshot is what the copy was read as: only a row TypeORM loaded says the copy is outdated.
    if (isVersionNumber(loaded) && loaded !== expected && !preloadedFromSnapshot(subject)) {
      throw staleErrorFromVersion(
        {
          metadata: subject.metadata,
          versionColumn: column,
          identifier: subject.identifier ?? primaryKeyValues(subject.metadata, entity),
          expectedVersion: carried,
          operation,
          entity,
        },
        loaded,
      );
    }
  }
}

async function softRemoveOrRecover(unit: PersistenceUnit, original: () => Promise<void>, operation: "soft-delete" | "restore") {
  const property = operation === "soft-delete" ? "softRemoveSubjects" : "recoverSubjects";
  const all = unit[property];
  const ours = all.filter((subject) => versionedEntity(subject));
  unit[property] = ours.length === 0 ? all : all.filter((subject) => !versionedEntity(subject));
  const state = transactionStateOf(unit.queryRunner);
  try {
    await runLibraryWrite(async () => {
      await original();
      for (const subject of ours) {
        const { column, entity } = versionedEntity(subject)!;
        const expected = expectedVersionOf(unit, subject, column, entity, operation);
        const key = rowKey(subject.metadata, subject.identifier!);
        const movedAlready = state.movedVersion(key)?.to === expected;
        const next = movedAlready ? expected : expected + 1;
        const write = {
          metadata: subject.metadata,
          versionColumn: column,
          identifier: subject.identifier!,
          expectedVersion: expected,
          entity,
          reload: unit.options?.reload !== false,
        };
        const generated = await checkedSoftDeleteOrRestore(unit.queryRunner, operation, write, movedAlready);
        mergeGenerated(unit, subject, generated, column, next);
        if (!movedAlready) state.recordMove(key, { from: expected, to: next }, transactionDepthOf(unit.queryRunner));
      }
    });
  } finally {
    unit[property] = all;
  }
}

function writes(subject: PersistenceSubject): boolean {
  return subject.mustBeInserted || subject.mustBeUpdated || subject.mustBeRemoved || subject.mustBeSoftRemoved || subject.mustBeRecovered;
}

function groupByEntity(subjects: PersistenceSubject[]): PersistenceSubject[][] {
  const groups = new Map<EntityMetadata, PersistenceSubject[]>();
  for (const subject of subjects) {
    const group = groups.get(subject.metadata) ?? [];
    group.push(subject);
    groups.set(subject.metadata, group);
  }
  return [...groups.values()];
}
