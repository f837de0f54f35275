import type { DataSource, EntityMetadata, ObjectLiteral } from "typeorm";
import type { ColumnMetadata } from "typeorm/metadata/ColumnMetadata";
import { MissingVersionError } from "./errors";
import { transactionDepthOf, type PersistenceHook, type PersistenceSubject, type PersistenceUnit } from "./internals/typeorm-internals";
import { aggregateGraphOf } from "./aggregate/aggregate-graph";
import { RootResolver, type RootRef } from "./aggregate/root-resolver";
import { runWriteUnit } from "./shared-connection-gate";
import { staleErrorFromVersion } from "./stale-lookup";
import { transactionStateOf, type Undo } from "./transaction-state";
import { attachTransactionSubscriber } from "./transaction-subscriber";
import { explainRejectedMetadata, validateDataSourceMetadata } from "./validate-metadata";
import { assertVersion, INITIAL_VERSION, isVersionNumber } from "./version-value";
import { checkedDelete, checkedSoftDeleteOrRestore, checkedUpdate } from "./versioned-writes";
import { hasCompletePrimaryKey, occVersionColumn, primaryKeyValues, rowKey } from "./versioned-metadata";

/** What one unit of work (one SubjectExecutor run) needs to remember between its phases. */
interface UnitContext {
  inserted: Set<PersistenceSubject>;
  undos: Undo[];
}

const units = new WeakMap<PersistenceUnit, UnitContext>();
/** DataSources already validated and given their transaction subscriber. */
const prepared = new WeakSet<DataSource>();

/** A subject typeorm-occ writes itself: a versioned entity the caller handed us (not an orphan row). */
function versionedEntity(subject: PersistenceSubject): { column: ColumnMetadata; entity: ObjectLiteral } | undefined {
  const column = occVersionColumn(subject.metadata);
  return column && subject.entity ? { column, entity: subject.entity } : undefined;
}

function expectedVersionOf(subject: PersistenceSubject, column: ColumnMetadata, entity: ObjectLiteral): number {
  const value = column.getEntityValue(entity);
  if (value === undefined || value === null) {
    throw new MissingVersionError(subject.metadata.name, column.propertyPath, primaryKeyValues(subject.metadata, subject.identifier ?? entity));
  }
  return assertVersion(subject.metadata.name, column.propertyPath, value);
}

export const persistenceHook: PersistenceHook = {
  metadataBuilt(dataSource: DataSource) {
    if (prepared.has(dataSource)) return;
    validateDataSourceMetadata(dataSource);
    aggregateGraphOf(dataSource);
    attachTransactionSubscriber(dataSource);
    prepared.add(dataSource);
  },

  metadataRejected(dataSource: DataSource, error: unknown) {
    return explainRejectedMetadata(dataSource, error);
  },

  writeUnit(dataSource, work) {
    return runWriteUnit(dataSource, work);
  },

  async execute(unit, original) {
    // Normally done by initialize(); here too for entity files loaded while that build was running.
    this.metadataBuilt(unit.queryRunner.connection);
    const context: UnitContext = { inserted: new Set(), undos: [] };
    units.set(unit, context);
    validateBeforeWriting(unit, context);
    try {
      await original();
    } catch (error) {
      for (const undo of context.undos.reverse()) undo();
      throw error;
    }
    const queryRunner = unit.queryRunner;
    const depth = transactionDepthOf(queryRunner);
    // Outside a transaction each unit stands alone; inside one, undo on rollback.
    if (depth === 0) transactionStateOf(queryRunner).committed(0);
    else transactionStateOf(queryRunner).recordUndos(context.undos, depth);
  },

  async update(unit, original) {
    const context = units.get(unit) ?? { inserted: new Set(), undos: [] };
    const queryRunner = unit.queryRunner;
    const state = transactionStateOf(queryRunner);
    const depth = transactionDepthOf(queryRunner);
    // Rows inserted by this unit already hold their first version for the whole transaction.
    for (const subject of context.inserted) {
      if (subject.identifier) state.markBumped(rowKey(subject.metadata, subject.identifier), depth);
    }

    const roots = await rootsToBump(unit);
    const all = unit.updateSubjects;
    const ours = all.filter((subject) => versionedEntity(subject));
    unit.updateSubjects = ours.length === 0 ? all : all.filter((subject) => !versionedEntity(subject));
    try {
      await original();
    } finally {
      unit.updateSubjects = all;
    }

    const reload = unit.options?.reload !== false;
    for (const subject of ours) {
      const { column, entity } = versionedEntity(subject)!;
      const key = rowKey(subject.metadata, subject.identifier!);
      const expected = context.inserted.has(subject) ? INITIAL_VERSION : expectedVersionOf(subject, column, entity);
      const next = state.hasBumped(key) ? expected : expected + 1;
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
      mergeGenerated(subject, generated, column, next, unit);
      state.markBumped(key, depth);
    }

    for (const root of roots) {
      if (state.hasBumped(root.key)) continue; // folded into the root's own UPDATE, or bumped earlier in this transaction
      await bumpRoot(unit, root, context);
      state.markBumped(root.key, depth);
    }
  },

  async remove(unit, original) {
    const all = unit.removeSubjects;
    try {
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
            expectedVersion: expectedVersionOf(subject, column, subject.entity!),
            entity: subject.entity,
          })),
        );
      }
    } finally {
      unit.removeSubjects = all;
    }
  },

  async softRemove(unit, original) {
    await softRemoveOrRecover(unit, original, "soft-delete");
  },

  async recover(unit, original) {
    await softRemoveOrRecover(unit, original, "restore");
  },
};

/**
 * Rejects bad input before the first statement of the unit: missing or malformed versions, a
 * version already known to be outdated (versions only grow, so a pre-loaded row at another version
 * proves staleness), and an object carrying a version whose row no longer exists.
 */
function validateBeforeWriting(unit: PersistenceUnit, context: UnitContext): void {
  for (const subject of unit.allSubjects) {
    const versioned = versionedEntity(subject);
    if (!versioned) continue;
    const { column, entity } = versioned;
    const previous = column.getEntityValue(entity);
    context.undos.push(() => column.setEntityValue(entity, previous));

    if (subject.mustBeInserted) {
      context.inserted.add(subject);
      if (previous === undefined || previous === null) continue;
      const expected = assertVersion(subject.metadata.name, column.propertyPath, previous);
      if (hasCompletePrimaryKey(subject.metadata, entity)) {
        // It was read from the database once, and its row has been deleted since.
        throw staleErrorFromVersion(
          { metadata: subject.metadata, versionColumn: column, identifier: primaryKeyValues(subject.metadata, entity), expectedVersion: expected, operation: "update", entity },
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
    const expected = expectedVersionOf(subject, column, entity);
    const loaded = subject.databaseEntity && column.getEntityValue(subject.databaseEntity);
    if (isVersionNumber(loaded) && loaded !== expected) {
      throw staleErrorFromVersion(
        { metadata: subject.metadata, versionColumn: column, identifier: subject.identifier ?? primaryKeyValues(subject.metadata, entity), expectedVersion: expected, operation, entity },
        loaded,
      );
    }
  }
}

/** Roots whose aggregate changed in this unit, excluding roots this unit deletes. */
async function rootsToBump(unit: PersistenceUnit): Promise<RootRef[]> {
  const graph = aggregateGraphOf(unit.queryRunner.connection);
  const changed = unit.allSubjects.filter(
    (subject) =>
      (graph.parentLinks(subject.metadata).length > 0 || graph.junctionOwner(subject.metadata)) &&
      (subject.mustBeInserted || subject.mustBeUpdated || subject.mustBeRemoved || subject.mustBeSoftRemoved || subject.mustBeRecovered),
  );
  if (changed.length === 0) return [];
  const deleted = new Set(
    unit.allSubjects
      .filter((subject) => graph.isRoot(subject.metadata) && (subject.mustBeRemoved || subject.mustBeSoftRemoved) && subject.identifier)
      .map((subject) => rowKey(subject.metadata, subject.identifier!)),
  );
  const resolver = new RootResolver(graph, unit);
  const roots = new Map<string, RootRef>();
  for (const subject of changed) {
    for (const root of await resolver.rootsOf(subject)) {
      if (deleted.has(root.key) || root.subject?.mustBeInserted) continue;
      const known = roots.get(root.key);
      // Prefer the reference that carries the caller's root object (its version gets checked).
      if (!known || (!known.subject && root.subject) || (!known.entity && root.entity)) roots.set(root.key, root);
    }
  }
  return [...roots.values()];
}

/**
 * `UPDATE root SET version = v + 1 WHERE pk AND version = v` when the caller holds the root (in this
 * save, or as the member's loaded relation); otherwise `version = version + 1` by primary key, which
 * makes every other holder of the root stale.
 */
async function bumpRoot(unit: PersistenceUnit, root: RootRef, context: UnitContext): Promise<void> {
  const column = occVersionColumn(root.metadata)!;
  const value = root.entity ? column.getEntityValue(root.entity) : undefined;
  let expected: number | undefined;
  if (root.subject) expected = expectedVersionOf(root.subject, column, root.entity!);
  else if (value !== undefined && value !== null) expected = assertVersion(root.metadata.name, column.propertyPath, value);
  await checkedUpdate(unit.queryRunner, {
    metadata: root.metadata,
    versionColumn: column,
    identifier: root.primaryKey,
    values: {},
    expectedVersion: expected,
    nextVersion: expected === undefined ? "increment" : expected + 1,
    entity: root.entity,
    reload: false,
  });
  if (expected !== undefined && root.entity) {
    const entity = root.entity;
    context.undos.push(() => column.setEntityValue(entity, expected));
    column.setEntityValue(entity, expected + 1);
  }
}

async function softRemoveOrRecover(unit: PersistenceUnit, original: () => Promise<void>, operation: "soft-delete" | "restore") {
  const property = operation === "soft-delete" ? "softRemoveSubjects" : "recoverSubjects";
  const all = unit[property];
  const ours = all.filter((subject) => versionedEntity(subject));
  unit[property] = ours.length === 0 ? all : all.filter((subject) => !versionedEntity(subject));
  try {
    await original();
  } finally {
    unit[property] = all;
  }
  const state = transactionStateOf(unit.queryRunner);
  for (const subject of ours) {
    const { column, entity } = versionedEntity(subject)!;
    const expected = expectedVersionOf(subject, column, entity);
    const generated = await checkedSoftDeleteOrRestore(unit.queryRunner, operation, {
      metadata: subject.metadata,
      versionColumn: column,
      identifier: subject.identifier!,
      expectedVersion: expected,
      entity,
      reload: unit.options?.reload !== false,
    });
    mergeGenerated(subject, generated, column, expected + 1, unit);
    state.markBumped(rowKey(subject.metadata, subject.identifier!), transactionDepthOf(unit.queryRunner));
  }
}

/** What TypeORM does with values a write returned, plus the version we know we wrote. */
function mergeGenerated(
  subject: PersistenceSubject,
  generated: ObjectLiteral | undefined,
  column: ColumnMetadata,
  version: number,
  unit: PersistenceUnit,
): void {
  const driver = unit.queryRunner.connection.driver;
  subject.generatedMap ??= {};
  if (generated) {
    for (const generatedColumn of subject.metadata.columns) {
      const value = generatedColumn.getEntityValue(generated);
      if (value !== undefined && value !== null) {
        generatedColumn.setEntityValue(subject.generatedMap, driver.prepareHydratedValue(value, generatedColumn));
      }
    }
  }
  column.setEntityValue(subject.generatedMap, version);
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
