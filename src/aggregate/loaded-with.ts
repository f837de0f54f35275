import type { DataSource, EntityMetadata, EntitySubscriberInterface, LoadEvent, ObjectLiteral } from "typeorm";
import { aggregateGraphOf, type AggregateGraph } from "./aggregate-graph";

/**
 * Remembers, for every member object loaded together with its aggregate root (`order.lines`,
 * `line.notes`, …), the root object it came with. A member saved or removed on its own is then
 * checked against that root's version — the version of the aggregate it was read in — even after
 * its parent relation was reassigned (a move to another aggregate). The root object is kept, not
 * its version: the version it carries moves with every save that commits, and back on rollback.
 */
export interface LoadedRoot {
  root: ObjectLiteral;
  metadata: EntityMetadata;
}

const loadedWith = new WeakMap<object, LoadedRoot>();

/** The root object a member was loaded with, if it was loaded inside its aggregate. */
export function rootLoadedWith(member: object): LoadedRoot | undefined {
  return loadedWith.get(member);
}

function record(graph: AggregateGraph, root: ObjectLiteral, event: LoadEvent<ObjectLiteral>): void {
  const pending: { object: ObjectLiteral; metadata: typeof event.metadata }[] = [{ object: root, metadata: event.metadata }];
  const seen = new Set<object>([root]);
  while (pending.length > 0) {
    const { object, metadata } = pending.pop()!;
    for (const relation of graph.memberRelations(metadata)) {
      if (relation.isLazy && !Object.prototype.hasOwnProperty.call(object, relation.propertyName)) continue;
      const value: unknown = relation.getEntityValue(object);
      for (const child of Array.isArray(value) ? value : [value]) {
        if (!child || typeof child !== "object" || seen.has(child)) continue;
        seen.add(child);
        loadedWith.set(child, { root, metadata: event.metadata });
        pending.push({ object: child, metadata: relation.inverseEntityMetadata });
      }
    }
  }
}

/** One subscriber per root entity, so TypeORM calls it for roots only (`listenTo`). */
class RootLoadSubscriber implements EntitySubscriberInterface<ObjectLiteral> {
  constructor(
    private readonly target: Function | string,
    private readonly graph: AggregateGraph,
  ) {}

  listenTo(): Function | string {
    return this.target;
  }

  afterLoad(entity: ObjectLiteral, event?: LoadEvent<ObjectLiteral>): void {
    if (event?.metadata && this.graph.isRoot(event.metadata)) record(this.graph, entity, event);
  }
}

const attached = new WeakSet<DataSource>();

export function attachRootLoadSubscribers(dataSource: DataSource): void {
  if (attached.has(dataSource)) return;
  const graph = aggregateGraphOf(dataSource);
  for (const metadata of dataSource.entityMetadatas) {
    if (graph.isRoot(metadata) && graph.memberRelations(metadata).length > 0) {
      dataSource.subscribers.push(new RootLoadSubscriber(metadata.target, graph));
    }
  }
  attached.add(dataSource);
}
