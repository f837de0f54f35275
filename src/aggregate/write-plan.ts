import type { ObjectLiteral } from "typeorm";
import { MissingVersionError } from "../errors";
import type { PersistenceSubject, PersistenceUnit } from "../internals/typeorm-internals";
import { dataSourceOf } from "../internals/typeorm-internals";
import { claimedVersion } from "../copies/claimed-version";
import { occVersionColumn, primaryKeyValues, rowKey } from "../version/versioned-metadata";
import { aggregateGraphOf, upwardRelation, type AggregateGraph } from "./aggregate-graph";
import { isResurrection, rootLoadedWith } from "./loaded-with";
import { assertMembersGuarded, assertOneReadOfEachRoot } from "./member-guard";
import { RootResolver, type Membership, type RootRef } from "./root-resolver";

/** A root whose aggregate a unit of work changes, and how its version is checked. */
export interface PlannedRoot {
  ref: RootRef;
  /** The version the caller's copy of the root carries (checked); undefined: moved unchecked. */
  carried: number | undefined;
  /** The unit writes the root row itself later (update it can't fold, remove, soft-remove, recover). */
  writtenLater: boolean;
  /** The unit's member objects in this aggregate: the root's check judges them with the root's copy (see CopyClaim). */
  members: { object: ObjectLiteral; metadata: PersistenceSubject["metadata"] }[];
}

export interface AggregatePlan {
  /** Roots whose aggregate the unit changes, in one fixed order (by table and key). */
  roots: PlannedRoot[];
  /**
   * Roots of members the unit was handed but does not change (their copy already matches the
   * database): the version their copy was read at is still compared, or an increment computed from
   * an outdated read would be acknowledged as a no-op once someone else wrote the same value.
   */
  unchanged: PlannedRoot[];
  /** The member rows the unit changes. */
  changed: PersistenceSubject[];
  /** Rows whose parents were read from the database before the roots were locked, with what was read: confirmRoots checks them under the locks. */
  databaseReads: ReturnType<RootResolver["databaseReads"]>;
  /** The aggregates each changed member belongs to before and after the unit. */
  membership: ReadonlyMap<PersistenceSubject, Membership>;
}

/**
 * Works out, before the first write of a unit, which aggregate roots it changes and which version
 * each is checked against; refuses member writes nothing guards. Roots come in one fixed order (by
 * table and key), so concurrent writers lock roots in the same order and the loser of a race waits
 * and then fails its check instead of deadlocking.
 */
export async function planAggregateWrites(unit: PersistenceUnit): Promise<AggregatePlan> {
  const graph = aggregateGraphOf(dataSourceOf(unit.queryRunner));
  const changed = unit.allSubjects.filter((subject) => graph.isMember(subject.metadata) && changes(subject));
  const unchanged = unchangedMemberRoots(unit, graph);
  if (changed.length === 0)
    return { roots: [], unchanged: withoutSubjects(unit, unchanged, new Set()), changed, databaseReads: [], membership: new Map() };
  const resolver = new RootResolver(graph, unit.queryRunner, unit.allSubjects);
  const membership = await resolver.membershipOf(changed);
  addLoadedWithRoots(membership);

  const roots = new Map<string, RootRef>();
  for (const { current, next } of membership.values()) {
    for (const root of [...current, ...next]) {
      const known = roots.get(root.key);
      roots.set(root.key, { ...root, entity: known?.entity ?? root.entity, subject: known?.subject ?? root.subject });
    }
  }
  const planned: PlannedRoot[] = [];
  for (const ref of roots.values()) {
    if (!ref.subject?.identifier && ref.subject) continue; // a root this unit inserts: it starts at version 1
    if (ref.subject?.mustBeInserted) continue;
    planned.push({ ref, carried: carriedVersion(ref), writtenLater: writtenLater(ref.subject), members: membersOf(ref.key, membership) });
  }
  // A root checked against a version guards its members; a root this unit inserts has nothing to overwrite.
  const checked = new Map<string, ObjectLiteral | undefined>();
  for (const root of planned) if (root.carried !== undefined) checked.set(root.ref.key, root.ref.subject?.entity ?? root.ref.entity);
  for (const ref of roots.values())
    if (ref.subject?.mustBeInserted || (ref.subject && !ref.subject.identifier)) checked.set(ref.key, undefined);
  assertMembersGuarded(unit, graph, membership, checked);
  assertOneReadOfEachRoot(
    changed,
    new Map(planned.flatMap((root) => (root.carried === undefined ? [] : [[root.ref.key, root.carried] as const]))),
  );
  return {
    roots: planned.sort((a, b) => (a.ref.key < b.ref.key ? -1 : a.ref.key > b.ref.key ? 1 : 0)),
    unchanged: withoutSubjects(unit, unchanged, new Set(planned.map((root) => root.ref.key))),
    changed,
    databaseReads: resolver.databaseReads(),
    membership,
  };
}

/** The member objects of the unit that belong to the root (before or after the unit). */
function membersOf(rootKey: string, membership: Map<PersistenceSubject, Membership>): PlannedRoot["members"] {
  const members: PlannedRoot["members"] = [];
  for (const [subject, { current, next }] of membership) {
    if (subject.entity && [...current, ...next].some((root) => root.key === rootKey))
      members.push({ object: subject.entity, metadata: subject.metadata });
  }
  return members;
}

/** The unit was handed members unchanged whose roots it must compare, even with nothing to write. */
export function hasUnchangedMemberRoots(unit: PersistenceUnit): boolean {
  const graph = aggregateGraphOf(dataSourceOf(unit.queryRunner));
  return withoutSubjects(unit, unchangedMemberRoots(unit, graph), new Set()).length > 0;
}

/** Roots, carried as objects with a version, of the member objects this unit was handed unchanged. */
type MemberRoot = RootRef & { members: PlannedRoot["members"] };

function unchangedMemberRoots(unit: PersistenceUnit, graph: AggregateGraph): MemberRoot[] {
  const roots: MemberRoot[] = [];
  for (const subject of unit.allSubjects) {
    if (!subject.entity || changes(subject) || graph.parentLinks(subject.metadata).length === 0) continue;
    const loaded = rootLoadedWith(subject.entity) ?? rootAbove(graph, subject) ?? rootCascadedFrom(graph, subject);
    if (loaded) {
      const primaryKey = primaryKeyValues(loaded.metadata, loaded.root);
      roots.push({
        metadata: loaded.metadata,
        primaryKey,
        key: rowKey(loaded.metadata, primaryKey),
        entity: loaded.root,
        members: [{ object: subject.entity, metadata: subject.metadata }],
      });
    }
  }
  return roots;
}

/** The root subject a member was cascaded from (a save of the root with its members), if any. */
function rootCascadedFrom(
  graph: AggregateGraph,
  subject: PersistenceSubject,
): { root: ObjectLiteral; metadata: PersistenceSubject["metadata"] } | undefined {
  const seen = new Set<PersistenceSubject>();
  for (let parent = subject.parentSubject; parent && !seen.has(parent); parent = parent.parentSubject) {
    seen.add(parent);
    if (graph.isRoot(parent.metadata)) return parent.entity ? { root: parent.entity, metadata: parent.metadata } : undefined;
  }
  return undefined;
}

/** The root object reached through a member's loaded parent relations, if any. */
function rootAbove(
  graph: AggregateGraph,
  subject: PersistenceSubject,
): { root: ObjectLiteral; metadata: PersistenceSubject["metadata"] } | undefined {
  const seen = new Set<object>();
  let object: ObjectLiteral | undefined = subject.entity;
  let metadata = subject.metadata;
  while (object && !seen.has(object)) {
    seen.add(object);
    if (graph.isRoot(metadata)) return { root: object, metadata };
    const current: ObjectLiteral = object;
    const link = graph.parentLinks(metadata).find((candidate) => {
      const relation = upwardRelation(candidate);
      return relation !== undefined && !relation.isLazy && typeof relation.getEntityValue(current) === "object";
    });
    if (!link) return undefined;
    object = upwardRelation(link)!.getEntityValue(current) ?? undefined;
    metadata = link.parent;
  }
  return undefined;
}

/**
 * Drops roots the unit checks anyway (roots it writes, root subjects with changes of their own) and
 * roots without a version. A root subject without changes stays: TypeORM pre-loads the root and its
 * members in separate statements, so its pre-loaded version may predate the members it was compared with.
 */
function withoutSubjects(unit: PersistenceUnit, roots: MemberRoot[], written: ReadonlySet<string>): PlannedRoot[] {
  const changing = new Set(
    unit.allSubjects
      .filter((subject) => subject.identifier && changes(subject))
      .map((subject) => rowKey(subject.metadata, subject.identifier!)),
  );
  const result = new Map<string, PlannedRoot>();
  for (const ref of roots) {
    if (changing.has(ref.key) || written.has(ref.key)) continue;
    const known = result.get(ref.key);
    if (known) {
      known.members.push(...ref.members);
      continue;
    }
    const carried = carriedVersion(ref);
    if (carried !== undefined) result.set(ref.key, { ref, carried, writtenLater: false, members: [...ref.members] });
  }
  return [...result.values()];
}

function changes(subject: PersistenceSubject): boolean {
  return subject.mustBeInserted || subject.mustBeUpdated || subject.mustBeRemoved || subject.mustBeSoftRemoved || subject.mustBeRecovered;
}

/** A member object loaded inside its aggregate belongs to that root as read: it is checked against it. */
function addLoadedWithRoots(membership: Map<PersistenceSubject, Membership>): void {
  for (const [subject, { current }] of membership) {
    const loaded = subject.entity && (!subject.mustBeInserted || isResurrection(subject)) ? rootLoadedWith(subject.entity) : undefined;
    if (!loaded) continue;
    const primaryKey = primaryKeyValues(loaded.metadata, loaded.root);
    const key = rowKey(loaded.metadata, primaryKey);
    const known = current.find((root) => root.key === key);
    if (known && !known.subject) known.entity = loaded.root;
    else if (!known) current.push({ metadata: loaded.metadata, primaryKey, key, entity: loaded.root });
  }
}

/** The version the caller's copy of a root carries: its subject's, or the object's when it has one. */
function carriedVersion(ref: RootRef): number | undefined {
  const column = occVersionColumn(ref.metadata)!;
  const object: ObjectLiteral | undefined = ref.subject?.entity ?? ref.entity;
  const value = object ? column.getEntityValue(object) : undefined;
  if (value === undefined || value === null) {
    // A root taking part in the save must say which version it was read at.
    if (ref.subject?.entity)
      throw new MissingVersionError(ref.metadata.name, column.propertyPath, primaryKeyValues(ref.metadata, ref.primaryKey));
    return undefined;
  }
  return claimedVersion(ref.metadata, column, object!, value, "update");
}

function writtenLater(subject: PersistenceSubject | undefined): boolean {
  return Boolean(subject && (subject.mustBeUpdated || subject.mustBeRemoved || subject.mustBeSoftRemoved || subject.mustBeRecovered));
}
