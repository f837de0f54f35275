import type { EntityMetadata, ObjectLiteral, QueryRunner } from "typeorm";
import type { PersistenceSubject } from "../internals/typeorm-internals";
import { rowKey } from "../version/versioned-metadata";
import type { AggregateGraph, ParentLink } from "./aggregate-graph";
import { KnownParents, writesLink, type Found, type Position } from "./known-parents";
import { readParents, type ParentsByLink, type RowRef } from "./parent-lookup";

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
  /** Rows on the way up from where the row goes that the database no longer has (a parent removed meanwhile). */
  gone: RowRef[];
}

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
  private readonly known: KnownParents;
  private readonly parentsOfRow = new Map<string, Position[]>();
  private readonly fromDatabase = new Map<string, ParentsByLink>();
  private readonly rootsMemo = new Map<string, RootRef[]>();
  /** Rows the database was asked about and does not have. */
  private readonly missing = new Map<string, RowRef>();
  /** The rows whose parents came from the database, as read: what confirmRoots checks again under the root locks. */
  private readonly usedFromDatabase = new Map<string, RowRef>();

  /**
   * `subjects`: what this save holds (none for a write that does not go through save()).
   * `latest`: read the latest committed links, not the transaction's snapshot (see readParents).
   */
  constructor(
    private readonly graph: AggregateGraph,
    private readonly queryRunner: QueryRunner,
    subjects: PersistenceSubject[] = [],
    private readonly latest = false,
  ) {
    this.known = new KnownParents(graph, subjects);
  }

  /** Where each of the given changed subjects sits in the aggregates, before and after this save. */
  async membershipOf(changed: PersistenceSubject[]): Promise<Map<PersistenceSubject, Membership>> {
    const sides = new Map<PersistenceSubject, { current: Position[]; next: Position[] }>();
    const ask: { subject: PersistenceSubject; links: ParentLink[]; side: "current" | "both" }[] = [];

    for (const subject of changed) {
      const side = { current: [] as Position[], next: [] as Position[] };
      sides.set(subject, side);
      const self = this.known.subjectPosition(subject);
      if (this.graph.isRoot(subject.metadata)) {
        if (self) {
          side.current.push(self);
          side.next.push(self);
        }
        continue;
      }
      const junctionOwner = this.graph.junctionOwner(subject.metadata);
      if (junctionOwner) {
        // The owner named by the link row itself: written from the inverse side, TypeORM cascades it from the other entity.
        const owner = this.known.junctionOwner(subject, junctionOwner);
        if (owner) {
          side.current.push(owner);
          side.next.push(owner);
        }
        continue;
      }
      const unknownCurrent: ParentLink[] = [];
      const unknownBoth: ParentLink[] = [];
      for (const link of this.graph.parentLinks(subject.metadata)) {
        const written = link.kind === "member-holds-key" && writesLink(subject, link);
        if (subject.mustBeInserted || written) {
          add(side.next, this.known.next(subject, link));
          if (subject.mustBeInserted) continue;
          const current = this.known.current(subject, link);
          if (current === undefined) unknownCurrent.push(link);
          else add(side.current, current);
          continue;
        }
        const parent = self ? this.known.regular(self, link) : undefined;
        if (parent === undefined) unknownBoth.push(link);
        else {
          add(side.current, parent);
          add(side.next, parent);
        }
      }
      if (self && unknownCurrent.length > 0) ask.push({ subject, links: unknownCurrent, side: "current" });
      if (self && unknownBoth.length > 0) ask.push({ subject, links: unknownBoth, side: "both" });
    }

    await this.loadFromDatabase(ask.map(({ subject }) => this.known.subjectPosition(subject)!));
    for (const { subject, links, side } of ask) {
      const found = this.fromDatabase.get(rowKey(subject.metadata, subject.identifier!));
      for (const link of links) {
        const parent = found?.get(link);
        if (!parent) continue;
        const position = this.known.rowPosition(parent);
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
        gone: this.goneAbove(side.next),
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
    const listed = new Set<string>();
    for (const position of positions) {
      if (this.fromDatabase.has(position.key) || listed.has(position.key)) continue;
      listed.add(position.key);
      const list = byEntity.get(position.metadata) ?? [];
      list.push(position);
      byEntity.set(position.metadata, list);
    }
    for (const [metadata, rows] of byEntity) {
      const found = await readParents(this.queryRunner, this.graph, metadata, rows, this.latest);
      for (const [key, parents] of found) if (!this.fromDatabase.has(key)) this.fromDatabase.set(key, parents);
      // A row the database does not have (deleted meanwhile) has no parents.
      for (const row of rows) {
        if (this.fromDatabase.has(row.key)) continue;
        this.fromDatabase.set(row.key, new Map());
        this.missing.set(row.key, row);
      }
    }
  }

  /** What this save says about a parent (a `null` included), else what the database said. */
  private knownParent(position: Position, link: ParentLink): Found {
    const inMemory = this.known.regular(position, link);
    return inMemory !== undefined ? inMemory : this.cachedParent(position, link);
  }

  private cachedParent(position: Position, link: ParentLink): Found {
    const found = this.fromDatabase.get(position.key);
    if (!found) return undefined;
    this.usedFromDatabase.set(position.key, { metadata: position.metadata, primaryKey: position.primaryKey, key: position.key });
    const parent = found.get(link);
    return parent ? this.known.rowPosition(parent) : null;
  }

  /** The rows the database was asked about and does not have (removed meanwhile). */
  missingRows(): RowRef[] {
    return [...this.missing.values()];
  }

  /** Each row whose parents were read from the database, with the parents read (none: the row was missing). */
  databaseReads(): { row: RowRef; parents: ParentsByLink }[] {
    return [...this.usedFromDatabase.values()].map((row) => ({ row, parents: this.fromDatabase.get(row.key)! }));
  }

  /** The rows at or above the given positions that the database said it does not have. */
  private goneAbove(start: Position[]): RowRef[] {
    const gone: RowRef[] = [];
    const seen = new Set<string>();
    const pending = [...start];
    while (pending.length > 0) {
      const position = pending.pop()!;
      if (seen.has(position.key)) continue;
      seen.add(position.key);
      const missing = this.missing.get(position.key);
      if (missing) gone.push(missing);
      pending.push(...(this.parentsOfRow.get(position.key) ?? []));
    }
    return gone;
  }

  /**
   * Roots above a position, depth first. A row met again on the way is a cycle in the data: that
   * path ends there. Results computed across such a cut are not remembered (they can lack the roots
   * reached through the row where the cycle closed).
   */
  private rootsOf(position: Position, visiting: Set<string>, cut = { happened: false }): RootRef[] {
    if (this.graph.isRoot(position.metadata)) {
      return [
        {
          metadata: position.metadata,
          primaryKey: position.primaryKey,
          key: position.key,
          entity: position.entity,
          subject: position.subject,
        },
      ];
    }
    const memo = this.rootsMemo.get(position.key);
    if (memo) return memo;
    if (visiting.has(position.key)) {
      cut.happened = true;
      return [];
    }
    visiting.add(position.key);
    const below = { happened: false };
    const roots = uniqueRoots((this.parentsOfRow.get(position.key) ?? []).flatMap((parent) => this.rootsOf(parent, visiting, below)));
    visiting.delete(position.key);
    if (below.happened) cut.happened = true;
    else this.rootsMemo.set(position.key, roots);
    return roots;
  }
}

function add(list: Position[], found: Found): void {
  if (found && !list.some((known) => known.key === found.key)) list.push(found);
}

function uniqueRoots(roots: RootRef[]): RootRef[] {
  const byKey = new Map<string, RootRef>();
  for (const root of roots) {
    const known = byKey.get(root.key);
    if (!known || (!known.subject && root.subject) || (!known.entity && root.entity))
      byKey.set(root.key, { ...known, ...root, entity: root.entity ?? known?.entity, subject: root.subject ?? known?.subject });
  }
  return [...byKey.values()];
}
