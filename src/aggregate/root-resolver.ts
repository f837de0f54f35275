import type { EntityMetadata, ObjectLiteral, QueryRunner } from "typeorm";
import type { PersistenceSubject } from "../internals/typeorm-internals";
import { hasCompletePrimaryKey, primaryKeyValues, rowKey } from "../versioned-metadata";
import type { AggregateGraph, ParentLink } from "./aggregate-graph";
import { readParents, rowRef, type ParentsByLink, type RowRef } from "./parent-lookup";

/** A root row whose version must move because something inside its aggregate changed. */
export interface RootRef {
  metadata: EntityMetadata;
  /** Primary key values of the root row. */
  primaryKey: ObjectLiteral;
  key: string;
  /** The root object the caller holds, when known: its version is the one checked. */
  entity?: ObjectLiteral;
  /** The root's own subject when the root takes part in this save. */
  subject?: PersistenceSubject;
}

/** The aggregates a changed row belongs to before its write (`current`) and after it (`next`). */
export interface Membership {
  current: RootRef[];
  next: RootRef[];
}

/** A row the walk passes through, with what this save knows about it. */
interface Position extends RowRef {
  entity?: ObjectLiteral;
  subject?: PersistenceSubject;
}

/** A parent found: a row, `null` for "no parent through this link", `undefined` for "ask the database". */
type Found = Position | null | undefined;

const sameTable = (a: EntityMetadata, b: EntityMetadata) => a === b || a.tablePath === b.tablePath;

/**
 * Finds the aggregate roots of the rows a unit of work changes, before anything is written.
 * Parents come, in order of preference, from this save (the subject TypeORM cascaded from, an
 * object that holds the row in a member relation), from the row's own relation or foreign-key
 * properties, from the row TypeORM pre-loaded, and only then from the database — batched, one
 * statement per entity per level, one for a whole self-referencing chain. No depth limit: the walk
 * ends at roots, and a cycle in the data ends where a row repeats.
 *
 * A row whose parent link is written by this save (a member moved to another aggregate, by either
 * side of the relation or by its foreign-key column alone) belongs to two aggregates: the one it
 * leaves (`current`, from the database's point of view) and the one it joins (`next`).
 */
export class RootResolver {
  private readonly subjects: Set<PersistenceSubject>;
  private readonly subjectByObject = new Map<object, PersistenceSubject>();
  private readonly subjectByRow = new Map<string, PersistenceSubject>();
  /** Child object → the subject whose entity holds it in a member relation. */
  private readonly holderByObject = new Map<object, PersistenceSubject>();
  /** Child row → the subject whose pre-loaded row held it in a member relation. */
  private readonly loadedHolderByRow = new Map<string, PersistenceSubject>();
  private readonly parentsOfRow = new Map<string, Position[]>();
  private readonly fromDatabase = new Map<string, ParentsByLink>();
  private readonly rootsMemo = new Map<string, RootRef[]>();

  /** `subjects`: what this save holds (none for a write that does not go through save()). */
  constructor(
    private readonly graph: AggregateGraph,
    private readonly queryRunner: QueryRunner,
    private readonly allSubjects: PersistenceSubject[] = [],
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

  /** Where each of the given changed subjects sits in the aggregates, before and after this save. */
  async membershipOf(changed: PersistenceSubject[]): Promise<Map<PersistenceSubject, Membership>> {
    const sides = new Map<PersistenceSubject, { current: Position[]; next: Position[] }>();
    const ask: { subject: PersistenceSubject; links: ParentLink[]; side: "current" | "both" }[] = [];

    for (const subject of changed) {
      const side = { current: [] as Position[], next: [] as Position[] };
      sides.set(subject, side);
      const self = this.subjectPosition(subject);
      if (this.graph.isRoot(subject.metadata)) {
        if (self) side.current.push(self), side.next.push(self);
        continue;
      }
      if (this.graph.junctionOwner(subject.metadata)) {
        const owner = subject.parentSubject && this.subjectPosition(subject.parentSubject);
        if (owner) side.current.push(owner), side.next.push(owner);
        continue;
      }
      const unknownCurrent: ParentLink[] = [];
      const unknownBoth: ParentLink[] = [];
      for (const link of this.graph.parentLinks(subject.metadata)) {
        const written = link.kind === "member-holds-key" && writesLink(subject, link);
        if (subject.mustBeInserted || written) {
          add(side.next, this.nextParent(subject, link));
          if (subject.mustBeInserted) continue;
          const current = this.currentParent(subject, link);
          if (current === undefined) unknownCurrent.push(link);
          else add(side.current, current);
          continue;
        }
        const parent = self ? this.regularParent(self, link) : undefined;
        if (parent === undefined) unknownBoth.push(link);
        else add(side.current, parent), add(side.next, parent);
      }
      if (self && unknownCurrent.length > 0) ask.push({ subject, links: unknownCurrent, side: "current" });
      if (self && unknownBoth.length > 0) ask.push({ subject, links: unknownBoth, side: "both" });
    }

    await this.loadFromDatabase(ask.map(({ subject }) => this.subjectPosition(subject)!));
    for (const { subject, links, side } of ask) {
      const found = this.fromDatabase.get(rowKey(subject.metadata, subject.identifier!));
      for (const link of links) {
        const parent = found?.get(link);
        if (!parent) continue;
        const position = this.rowPosition(parent);
        sides.get(subject)!.current.push(position);
        if (side === "both") sides.get(subject)!.next.push(position);
      }
    }

    await this.expand([...sides.values()].flatMap((side) => [...side.current, ...side.next]));
    const membership = new Map<PersistenceSubject, Membership>();
    for (const [subject, side] of sides) {
      membership.set(subject, {
        current: uniqueRoots(side.current.flatMap((position) => this.rootsOf(position, new Set()))),
        next: uniqueRoots(side.next.flatMap((position) => this.rootsOf(position, new Set()))),
      });
    }
    return membership;
  }

  /**
   * The roots of rows known by primary key alone (a write that does not go through save()), from
   * the database as it is now, inside the caller's transaction. Keyed by the row's {@link rowKey}.
   */
  async rootsOfRows(rows: RowRef[]): Promise<Map<string, RootRef[]>> {
    await this.expand(rows);
    return new Map(rows.map((row) => [row.key, this.rootsOf(row, new Set())]));
  }

  /** Discovers the parents of every position above the given ones, level by level. */
  private async expand(start: Position[]): Promise<void> {
    let frontier = start.filter((position) => !this.graph.isRoot(position.metadata));
    const seen = new Set<string>();
    while (frontier.length > 0) {
      const level = frontier.filter((position) => !seen.has(position.key) && !this.parentsOfRow.has(position.key));
      level.forEach((position) => seen.add(position.key));
      const unknown: Position[] = [];
      for (const position of level) {
        const parents: Position[] = [];
        let complete = true;
        for (const link of this.graph.parentLinks(position.metadata)) {
          const parent = this.knownParent(position, link);
          if (parent === undefined) complete = false;
          else add(parents, parent);
        }
        if (complete) this.parentsOfRow.set(position.key, parents);
        else unknown.push(position);
      }
      await this.loadFromDatabase(unknown);
      for (const position of unknown) {
        const parents: Position[] = [];
        for (const link of this.graph.parentLinks(position.metadata)) {
          add(parents, this.knownParent(position, link) ?? null);
        }
        this.parentsOfRow.set(position.key, parents);
      }
      frontier = level
        .flatMap((position) => this.parentsOfRow.get(position.key) ?? [])
        .filter((parent) => !this.graph.isRoot(parent.metadata) && !seen.has(parent.key));
    }
  }

  private async loadFromDatabase(positions: Position[]): Promise<void> {
    const byEntity = new Map<EntityMetadata, Position[]>();
    for (const position of positions) {
      if (this.fromDatabase.has(position.key)) continue;
      const list = byEntity.get(position.metadata) ?? [];
      if (!list.some((known) => known.key === position.key)) list.push(position);
      byEntity.set(position.metadata, list);
    }
    for (const [metadata, rows] of byEntity) {
      const found = await readParents(this.queryRunner, this.graph, metadata, rows);
      for (const [key, parents] of found) if (!this.fromDatabase.has(key)) this.fromDatabase.set(key, parents);
      // A row the database does not have (deleted meanwhile) has no parents.
      for (const row of rows) if (!this.fromDatabase.has(row.key)) this.fromDatabase.set(row.key, new Map());
    }
  }

  /** What this save says about a parent (a `null` included), else what the database said. */
  private knownParent(position: Position, link: ParentLink): Found {
    const inMemory = this.regularParent(position, link);
    return inMemory !== undefined ? inMemory : this.cachedParent(position, link);
  }

  private cachedParent(position: Position, link: ParentLink): Found {
    const found = this.fromDatabase.get(position.key);
    if (!found) return undefined;
    const parent = found.get(link);
    return parent ? this.rowPosition(parent) : null;
  }

  private rootsOf(position: Position, visiting: Set<string>): RootRef[] {
    if (this.graph.isRoot(position.metadata)) {
      return [{ metadata: position.metadata, primaryKey: position.primaryKey, key: position.key, entity: position.entity, subject: position.subject }];
    }
    const memo = this.rootsMemo.get(position.key);
    if (memo) return memo;
    if (visiting.has(position.key)) return []; // a cycle in the data: no root above it
    visiting.add(position.key);
    const roots = uniqueRoots((this.parentsOfRow.get(position.key) ?? []).flatMap((parent) => this.rootsOf(parent, visiting)));
    visiting.delete(position.key);
    this.rootsMemo.set(position.key, roots);
    return roots;
  }

  /** Parent of a row whose link this save does not write: its current parent, from anything that knows it. */
  private regularParent(position: Position, link: ParentLink): Found {
    const { subject, entity } = position;
    if (link.kind === "parent-holds-key") {
      const holder = entity && this.holderByObject.get(entity);
      if (holder && sameTable(holder.metadata, link.parent)) return this.subjectPosition(holder) ?? undefined;
      const loaded = this.loadedHolderByRow.get(position.key);
      return loaded && sameTable(loaded.metadata, link.parent) ? this.subjectPosition(loaded) ?? undefined : undefined;
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
    return loadedHolder && sameTable(loadedHolder.metadata, link.parent) ? this.subjectPosition(loadedHolder) ?? undefined : undefined;
  }

  /** The parent a row had before this save wrote its link: the pre-loaded row, a pre-loaded holder, or the database. */
  private currentParent(subject: PersistenceSubject, link: ParentLink): Found {
    const fromLoaded = subject.databaseEntity && this.parentFromObject(link, subject.databaseEntity, false);
    if (fromLoaded !== undefined) return fromLoaded;
    const key = subject.identifier && rowKey(subject.metadata, subject.identifier);
    const loadedHolder = key ? this.loadedHolderByRow.get(key) : undefined;
    return loadedHolder && sameTable(loadedHolder.metadata, link.parent) ? this.subjectPosition(loadedHolder) ?? undefined : undefined;
  }

  /** The parent a row has after this save: what the save writes into its link. */
  private nextParent(subject: PersistenceSubject, link: ParentLink): Found {
    const change =
      subject.changeMaps.find((map) => map.relation === link.relation) ??
      subject.changeMaps.find((map) => map.column && link.relation.joinColumns.some((column) => column.databaseName === map.column!.databaseName));
    if (change) {
      const value = change.value;
      if (value === null) return null;
      if (this.subjects.has(value as PersistenceSubject)) return this.subjectPosition(value as PersistenceSubject) ?? null;
      if (change.relation) return this.parentFromValue(link, value) ?? null;
      // Only the foreign-key column was set: the rest of a composite key comes from the object.
      const parentKey: ObjectLiteral = {};
      for (const column of link.relation.joinColumns) {
        const columnValue = column.databaseName === change.column!.databaseName ? value : subject.entity && column.getEntityValue(subject.entity);
        if (columnValue === null || columnValue === undefined) return null;
        column.referencedColumn!.setEntityValue(parentKey, columnValue);
      }
      return this.rowPosition(rowRef(link.parent, parentKey));
    }
    const position = this.subjectPosition(subject);
    return (position ? this.regularParent(position, link) : undefined) ?? null;
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
      if (!hasCompletePrimaryKey(link.parent, value)) return subject ? this.subjectPosition(subject) ?? null : undefined;
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
  private rowPosition(ref: RowRef): Position {
    const subject = this.subjectByRow.get(ref.key);
    return subject ? { ...ref, subject, entity: subject.entity } : ref;
  }

  private subjectPosition(subject: PersistenceSubject): Position | undefined {
    const primaryKey = subject.identifier ?? (subject.entity && hasCompletePrimaryKey(subject.metadata, subject.entity) ? primaryKeyValues(subject.metadata, subject.entity) : undefined);
    if (!primaryKey) {
      // A row this save inserts has no key yet; it is still a place in the graph (and a new root is no bump).
      return { metadata: subject.metadata, primaryKey: {}, key: `new:${this.allSubjects.indexOf(subject)}`, subject, entity: subject.entity };
    }
    return { ...rowRef(subject.metadata, primaryKey), subject, entity: subject.entity };
  }
}

function writesLink(subject: PersistenceSubject, link: ParentLink): boolean {
  return subject.changeMaps.some(
    (map) => map.relation === link.relation || (map.column !== undefined && link.relation.joinColumns.some((column) => column.databaseName === map.column!.databaseName)),
  );
}

function valuesOf(value: unknown, allowPrimitives = false): object[] {
  const list = Array.isArray(value) ? value : [value];
  return list.filter((item) => (item !== null && typeof item === "object") || (allowPrimitives && item !== null && item !== undefined));
}

/** The row key of a child as a pre-loaded relation holds it (an id map or a bare id). */
function childKey(metadata: EntityMetadata, child: unknown): string | undefined {
  if (child && typeof child === "object") return hasCompletePrimaryKey(metadata, child) ? rowKey(metadata, child as ObjectLiteral) : undefined;
  if (metadata.primaryColumns.length !== 1) return undefined;
  const primaryKey: ObjectLiteral = {};
  metadata.primaryColumns[0].setEntityValue(primaryKey, child);
  return rowKey(metadata, primaryKey);
}

function add(list: Position[], found: Found): void {
  if (found && !list.some((known) => known.key === found.key)) list.push(found);
}

function uniqueRoots(roots: RootRef[]): RootRef[] {
  const byKey = new Map<string, RootRef>();
  for (const root of roots) {
    const known = byKey.get(root.key);
    if (!known || (!known.subject && root.subject) || (!known.entity && root.entity)) byKey.set(root.key, { ...known, ...root, entity: root.entity ?? known?.entity, subject: root.subject ?? known?.subject });
  }
  return [...byKey.values()];
}
