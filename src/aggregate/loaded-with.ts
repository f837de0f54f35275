import type { DataSource, EntityMetadata, EntitySubscriberInterface, LoadEvent, ObjectLiteral } from "typeorm";
import type { PersistenceSubject } from "../internals/typeorm-internals";
import { hasCompletePrimaryKey } from "../version/versioned-metadata";
import { aggregateGraphOf, upwardRelation, type AggregateGraph } from "./aggregate-graph";

/**
 * Remembers, for every member object loaded together with its aggregate root — below it
 * (`order.lines`, `line.notes`) or above it (`relations: { order: true }`) — the root object it
 * came with. A member saved or removed on its own is then checked against that root's version,
 * the version of the aggregate it was read in, even after its parent relation was reassigned (a
 * move to another aggregate). The root object is kept, not its version: the version it carries
 * moves with every save that commits, and back on rollback.
 */
export interface LoadedRoot {
  root: ObjectLiteral;
  metadata: EntityMetadata;
}

const loadedWith = new WeakMap<object, LoadedRoot>();
const loadedFromDatabase = new WeakSet<object>();

/**
 * TypeORM announces every entity of one query's result in one synchronous pass (relations before
 * their owner). An object first announced in an earlier pass came from another statement — a
 * relation loaded with `relationLoadStrategy: "query"` — so it says nothing about the member's read.
 */
const firstAnnounced = new WeakMap<object, number>();
let pass = 0;
let passOpen = false;

function currentPass(): number {
  if (!passOpen) {
    pass += 1;
    passOpen = true;
    queueMicrotask(() => {
      passOpen = false;
    });
  }
  return pass;
}

/** The root object a member was loaded with, if it was loaded inside its aggregate. */
export function rootLoadedWith(member: object): LoadedRoot | undefined {
  return loadedWith.get(member);
}

/** The afterLoad pass in which the object was first read: a later read has a larger number. */
export function readPass(object: object): number | undefined {
  return firstAnnounced.get(object);
}

/** The object was read from the database (rather than built by the caller). */
export function wasReadFromDatabase(object: object): boolean {
  return loadedFromDatabase.has(object);
}

/** A root was loaded: every member object loaded below it belongs to it. */
function recordBelow(graph: AggregateGraph, root: ObjectLiteral, metadata: EntityMetadata): void {
  const pending: { object: ObjectLiteral; metadata: EntityMetadata }[] = [{ object: root, metadata }];
  const seen = new Set<object>([root]);
  while (pending.length > 0) {
    const current = pending.pop()!;
    for (const relation of graph.memberRelations(current.metadata)) {
      if (relation.isLazy && !Object.prototype.hasOwnProperty.call(current.object, relation.propertyName)) continue;
      const value: unknown = relation.getEntityValue(current.object);
      for (const child of Array.isArray(value) ? value : [value]) {
        if (!child || typeof child !== "object" || seen.has(child)) continue;
        seen.add(child);
        loadedWith.set(child, { root, metadata });
        loadedFromDatabase.add(child);
        pending.push({ object: child, metadata: relation.inverseEntityMetadata });
      }
    }
  }
}

/** A member read from the database whose row is gone since: TypeORM would INSERT it again. */
export function isResurrection(subject: PersistenceSubject): boolean {
  return Boolean(
    subject.mustBeInserted &&
    subject.entity &&
    loadedFromDatabase.has(subject.entity) &&
    hasCompletePrimaryKey(subject.metadata, subject.entity),
  );
}

/**
 * A member was loaded with its parents: when the chain reaches a root object read by the same
 * statement, the member belongs to it. A parent read by another statement (before or after the
 * member) proves nothing about the member's data, so the chain ends there.
 */
function recordAbove(graph: AggregateGraph, member: ObjectLiteral, metadata: EntityMetadata, now: number): void {
  const path: ObjectLiteral[] = [];
  const seen = new Set<object>();
  let object: ObjectLiteral | undefined = member;
  let current: EntityMetadata = metadata;
  while (object && !seen.has(object)) {
    seen.add(object);
    if (firstAnnounced.get(object) !== now) return;
    if (graph.isRoot(current)) {
      for (const below of path) loadedWith.set(below, { root: object, metadata: current });
      return;
    }
    path.push(object);
    let parent: { object: ObjectLiteral; metadata: EntityMetadata } | undefined;
    for (const link of graph.parentLinks(current)) {
      const relation = upwardRelation(link);
      if (!relation || relation.isLazy) continue; // a lazy parent is loaded later, by another statement
      const value: unknown = relation.getEntityValue(object);
      if (value && typeof value === "object") {
        parent = { object: value as ObjectLiteral, metadata: link.parent };
        break;
      }
    }
    object = parent?.object;
    if (parent) current = parent.metadata;
  }
}

/** One subscriber per root or member entity, so TypeORM calls it for those only (`listenTo`). */
class AggregateLoadSubscriber implements EntitySubscriberInterface<ObjectLiteral> {
  constructor(
    private readonly target: Function | string,
    private readonly graph: AggregateGraph,
  ) {}

  listenTo(): Function | string {
    return this.target;
  }

  afterLoad(entity: ObjectLiteral, event?: LoadEvent<ObjectLiteral>): void {
    const metadata = event?.metadata;
    if (!metadata) return;
    const now = currentPass();
    if (!firstAnnounced.has(entity)) firstAnnounced.set(entity, now);
    if (this.graph.isRoot(metadata)) recordBelow(this.graph, entity, metadata);
    else if (this.graph.parentLinks(metadata).length > 0) {
      loadedFromDatabase.add(entity);
      recordAbove(this.graph, entity, metadata, now);
    }
  }
}

const attached = new WeakSet<DataSource>();

export function attachAggregateLoadSubscribers(dataSource: DataSource): void {
  if (attached.has(dataSource)) return;
  const graph = aggregateGraphOf(dataSource);
  for (const metadata of dataSource.entityMetadatas) {
    // Every root, even one without relations down to its members: recordAbove needs to know when it was read.
    if (graph.isRoot(metadata) || graph.parentLinks(metadata).length > 0)
      dataSource.subscribers.push(new AggregateLoadSubscriber(metadata.target, graph));
  }
  attached.add(dataSource);
}
