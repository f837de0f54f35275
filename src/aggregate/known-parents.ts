import type { EntityMetadata, ObjectLiteral } from "typeorm";
import type { PersistenceSubject } from "../internals/typeorm-internals";
import { hasCompletePrimaryKey, primaryKeyValues, rowKey } from "../version/versioned-metadata";
import type { AggregateGraph, ParentLink } from "./aggregate-graph";
import { rowRef, type RowRef } from "./parent-lookup";

/** A row the walk to the roots passes through, with what the save knows about it. */
export interface Position extends RowRef {
  entity?: ObjectLiteral;
  subject?: PersistenceSubject;
}

/** A parent found: a row, `null` for "no parent through this link", `undefined` for "ask the database". */
export type Found = Position | null | undefined;

const sameTable = (a: EntityMetadata, b: EntityMetadata) => a === b || a.tablePath === b.tablePath;

/**
 * What one save already knows about the parents of its rows, without asking the database: the
 * subject TypeORM cascaded from, an object that holds the row in a member relation, the row's own
 * relation or foreign-key properties, the row TypeORM pre-loaded (where it is), and what the save
 * writes into a row's link (where it goes).
 */
export class KnownParents {
  private readonly subjects: Set<PersistenceSubject>;
  private readonly subjectByObject = new Map<object, PersistenceSubject>();
  private readonly subjectByRow = new Map<string, PersistenceSubject>();
  /** Child object → the subject whose entity holds it in a member relation. */
  private readonly holderByObject = new Map<object, PersistenceSubject>();
  /** Child row → the subject whose pre-loaded row held it in a member relation. */
  private readonly loadedHolderByRow = new Map<string, PersistenceSubject>();

  constructor(
    graph: AggregateGraph,
    private readonly allSubjects: PersistenceSubject[],
  ) {
    this.subjects = new Set(allSubjects);
    for (const subject of allSubjects) {
      if (subject.entity) this.subjectByObject.set(subject.entity, subject);
      if (subject.identifier) this.subjectByRow.set(rowKey(subject.metadata, subject.identifier), subject);
      for (const relation of graph.memberRelations(subject.metadata)) {
        if (subject.entity) {
          for (const child of valuesOf(relation.getEntityValue(subject.entity))) this.holderByObject.set(child, subject);
        }
        if (subject.databaseEntity) {
          for (const child of valuesOf(relation.getEntityValue(subject.databaseEntity), true)) {
            const key = childKey(relation.inverseEntityMetadata, child);
            if (key) this.loadedHolderByRow.set(key, subject);
          }
        }
      }
    }
  }

  /** Parent of a row whose link this save does not write: its current parent, from anything that knows it. */
  regular(position: Position, link: ParentLink): Found {
    const { subject, entity } = position;
    if (link.kind === "parent-holds-key") {
      const holder = entity && this.holderByObject.get(entity);
      if (holder && sameTable(holder.metadata, link.parent)) return this.subjectPosition(holder) ?? undefined;
      // The member's own inverse side of the parent's one-to-one, when it is loaded.
      const inverse = link.relation.inverseRelation;
      const value: unknown = entity && inverse && !inverse.isLazy ? inverse.getEntityValue(entity) : undefined;
      if (value && typeof value === "object" && hasCompletePrimaryKey(link.parent, value)) {
        const position = this.rowPosition(rowRef(link.parent, primaryKeyValues(link.parent, value)));
        return { ...position, entity: position.entity ?? (value as ObjectLiteral) };
      }
      const loaded = this.loadedHolderByRow.get(position.key);
      return loaded && sameTable(loaded.metadata, link.parent) ? (this.subjectPosition(loaded) ?? undefined) : undefined;
    }
    const cascadedFrom = subject?.parentSubject;
    if (cascadedFrom && sameTable(cascadedFrom.metadata, link.parent)) return this.subjectPosition(cascadedFrom) ?? undefined;
    const holder = entity && this.holderByObject.get(entity);
    if (holder && sameTable(holder.metadata, link.parent)) return this.subjectPosition(holder) ?? undefined;
    const fromEntity = entity && this.parentFromObject(link, entity);
    if (fromEntity !== undefined) return fromEntity;
    const fromLoaded = subject?.databaseEntity && this.parentFromObject(link, subject.databaseEntity, false);
    if (fromLoaded !== undefined) return fromLoaded;
    const loadedHolder = this.loadedHolderByRow.get(position.key);
    return loadedHolder && sameTable(loadedHolder.metadata, link.parent) ? (this.subjectPosition(loadedHolder) ?? undefined) : undefined;
  }

  /** The parent a row had before this save wrote its link: the pre-loaded row, a pre-loaded holder, or the database. */
  current(subject: PersistenceSubject, link: ParentLink): Found {
    const fromLoaded = subject.databaseEntity && this.parentFromObject(link, subject.databaseEntity, false);
    if (fromLoaded !== undefined) return fromLoaded;
    const key = subject.identifier && rowKey(subject.metadata, subject.identifier);
    const loadedHolder = key ? this.loadedHolderByRow.get(key) : undefined;
    return loadedHolder && sameTable(loadedHolder.metadata, link.parent) ? (this.subjectPosition(loadedHolder) ?? undefined) : undefined;
  }

  /** The parent a row has after this save: what the save writes into its link. */
  next(subject: PersistenceSubject, link: ParentLink): Found {
    const change =
      subject.changeMaps.find((map) => map.relation === link.relation) ??
      subject.changeMaps.find(
        (map) => map.column && link.relation.joinColumns.some((column) => column.databaseName === map.column!.databaseName),
      );
    if (change) {
      const value = change.value;
      if (value === null) return null;
      if (this.subjects.has(value as PersistenceSubject)) return this.subjectPosition(value as PersistenceSubject) ?? null;
      if (change.relation) return this.parentFromValue(link, value) ?? null;
      // Only the foreign-key column was set: the rest of a composite key comes from the object.
      const parentKey: ObjectLiteral = {};
      for (const column of link.relation.joinColumns) {
        const columnValue =
          column.databaseName === change.column!.databaseName ? value : subject.entity && column.getEntityValue(subject.entity);
        if (columnValue === null || columnValue === undefined) return null;
        column.referencedColumn!.setEntityValue(parentKey, columnValue);
      }
      return this.rowPosition(rowRef(link.parent, parentKey));
    }
    const position = this.subjectPosition(subject);
    return (position ? this.regular(position, link) : undefined) ?? null;
  }

  /**
   * The owning row of a many-to-many link row: from what the save writes into its owner columns (the
   * owner object, its subject, or its key), from the link row's key for a removal, or the subject
   * TypeORM cascaded it from when that is the owner.
   */
  junctionOwner(subject: PersistenceSubject, owner: EntityMetadata): Position | undefined {
    const key: ObjectLiteral = {};
    for (const column of subject.metadata.ownerColumns) {
      const change = subject.changeMaps.find((map) => map.column?.databaseName === column.databaseName);
      let value: unknown = change ? change.value : subject.identifier ? column.getEntityValue(subject.identifier) : undefined;
      if (this.subjects.has(value as PersistenceSubject)) {
        const valueSubject = value as PersistenceSubject;
        if (!valueSubject.identifier) return this.subjectPosition(valueSubject);
        value = valueSubject.entity ?? valueSubject.identifier;
      }
      if (value && typeof value === "object") {
        const ownerSubject = this.subjectByObject.get(value);
        if (ownerSubject) return this.subjectPosition(ownerSubject);
        if (!hasCompletePrimaryKey(owner, value)) break;
        const position = this.rowPosition(rowRef(owner, primaryKeyValues(owner, value)));
        return { ...position, entity: position.entity ?? (value as ObjectLiteral) };
      }
      if (value === undefined || value === null) break;
      column.referencedColumn!.setEntityValue(key, value);
    }
    if (hasCompletePrimaryKey(owner, key)) return this.rowPosition(rowRef(owner, key));
    const cascadedFrom = subject.parentSubject;
    return cascadedFrom && sameTable(cascadedFrom.metadata, owner) ? this.subjectPosition(cascadedFrom) : undefined;
  }

  /**
   * A parent read from an object's relation property or foreign-key properties. A pre-loaded row's
   * relation holds an id map, not an object of the caller's: it says where the row is, not which
   * version the caller read (`carry` false).
   */
  private parentFromObject(link: ParentLink, object: ObjectLiteral, carry = true): Found {
    const value: unknown = link.relation.getEntityValue(object);
    if (value === null) return null;
    if (value !== undefined) return this.parentFromValue(link, value, carry);
    const parentKey: ObjectLiteral = {};
    for (const column of link.relation.joinColumns) {
      const columnValue = column.getEntityValue(object);
      if (columnValue === undefined) return undefined;
      if (columnValue === null) return null;
      column.referencedColumn!.setEntityValue(parentKey, columnValue);
    }
    return this.rowPosition(rowRef(link.parent, parentKey));
  }

  /** A relation value: the parent object itself, an id map, or a bare id. */
  private parentFromValue(link: ParentLink, value: unknown, carry = true): Found {
    if (value && typeof value === "object") {
      const subject = this.subjectByObject.get(value);
      if (subject && !subject.identifier) return this.subjectPosition(subject) ?? null; // a parent this save inserts
      if (!hasCompletePrimaryKey(link.parent, value)) return subject ? (this.subjectPosition(subject) ?? null) : undefined;
      const position = this.rowPosition(rowRef(link.parent, primaryKeyValues(link.parent, value)));
      return carry ? { ...position, entity: position.entity ?? (value as ObjectLiteral) } : position;
    }
    if (value === undefined) return undefined;
    const parentKey: ObjectLiteral = {};
    const [column] = link.relation.joinColumns;
    if (!column || link.relation.joinColumns.length !== 1) return undefined;
    column.referencedColumn!.setEntityValue(parentKey, value);
    return this.rowPosition(rowRef(link.parent, parentKey));
  }

  /** A row, with its subject and object when this save holds it. */
  rowPosition(ref: RowRef): Position {
    const subject = this.subjectByRow.get(ref.key);
    return subject ? { ...ref, subject, entity: subject.entity } : ref;
  }

  subjectPosition(subject: PersistenceSubject): Position | undefined {
    const primaryKey =
      subject.identifier ??
      (subject.entity && hasCompletePrimaryKey(subject.metadata, subject.entity)
        ? primaryKeyValues(subject.metadata, subject.entity)
        : undefined);
    if (!primaryKey) {
      // A row this save inserts has no key yet; it is still a place in the graph (and a new root is no bump).
      return {
        metadata: subject.metadata,
        primaryKey: {},
        key: `new:${this.allSubjects.indexOf(subject)}`,
        subject,
        entity: subject.entity,
      };
    }
    return { ...rowRef(subject.metadata, primaryKey), subject, entity: subject.entity };
  }
}

/** The save writes this link of the row (its relation, or one of its foreign-key columns). */
export function writesLink(subject: PersistenceSubject, link: ParentLink): boolean {
  return subject.changeMaps.some(
    (map) =>
      map.relation === link.relation ||
      (map.column !== undefined && link.relation.joinColumns.some((column) => column.databaseName === map.column!.databaseName)),
  );
}

function valuesOf(value: unknown, allowPrimitives = false): object[] {
  const list = Array.isArray(value) ? value : [value];
  return list.filter((item) => (item !== null && typeof item === "object") || (allowPrimitives && item !== null && item !== undefined));
}

/** The row key of a child as a pre-loaded relation holds it (an id map or a bare id). */
function childKey(metadata: EntityMetadata, child: unknown): string | undefined {
  if (child && typeof child === "object")
    return hasCompletePrimaryKey(metadata, child) ? rowKey(metadata, child as ObjectLiteral) : undefined;
  if (metadata.primaryColumns.length !== 1) return undefined;
  const primaryKey: ObjectLiteral = {};
  metadata.primaryColumns[0].setEntityValue(primaryKey, child);
  return rowKey(metadata, primaryKey);
}
