import type { DataSource, EntityMetadata, EntitySubscriberInterface, LoadEvent, ObjectLiteral, QueryRunner } from "typeorm";
import { aggregateGraphOf } from "../aggregate/aggregate-graph";
import { dataSourceOf } from "../internals/typeorm-internals";
import { isVersionNumber } from "../version/version-value";
import { occVersionColumn } from "../version/versioned-metadata";
import { noteHydrated } from "./adopted-reads";
import { stampRead } from "./read-stamps";
import { snapshotsCopiesOf, takeSnapshot } from "./read-snapshots";

/** Versioned rows and rows of an aggregate: the copies whose reads are stamped. */
function stampsCopiesOf(metadata: EntityMetadata): boolean {
  const graph = aggregateGraphOf(dataSourceOf(metadata));
  return occVersionColumn(metadata) !== undefined || graph.isRoot(metadata) || graph.isMember(metadata);
}

/** One hydrated copy: stamped with what it was read as (see ReadStamp), and its snapshot kept where used. */
function stampLoaded(metadata: EntityMetadata, entity: ObjectLiteral, queryRunner: QueryRunner | undefined): void {
  const version: unknown = occVersionColumn(metadata)?.getEntityValue(entity);
  stampRead(entity, isVersionNumber(version) ? version : undefined, queryRunner);
  if (snapshotsCopiesOf(metadata)) takeSnapshot(metadata, entity);
  noteHydrated(metadata, entity);
}

/**
 * Stamps every versioned row and every row of an aggregate TypeORM hydrates. One subscriber per
 * such entity, so TypeORM calls it for those only.
 */
class ReadStampSubscriber implements EntitySubscriberInterface<ObjectLiteral> {
  constructor(private readonly target: Function | string) {}

  listenTo(): Function | string {
    return this.target;
  }

  afterLoad(entity: ObjectLiteral, event?: LoadEvent<ObjectLiteral>): void {
    if (event?.metadata) stampLoaded(event.metadata, entity, event.queryRunner);
  }
}

/**
 * A query builder with `callListeners(false)` hydrates without any afterLoad: its copies, and the
 * relations loaded with them, are stamped here instead, or a copy read that way would count as one
 * built by hand (its version the claim).
 */
export function stampQuietlyHydrated(metadata: EntityMetadata, entities: ObjectLiteral[], queryRunner: QueryRunner | undefined): void {
  const pending = entities.map((entity) => ({ entity, metadata }));
  const seen = new Set<object>();
  while (pending.length > 0) {
    const { entity, metadata: current } = pending.pop()!;
    if (seen.has(entity)) continue;
    seen.add(entity);
    if (stampsCopiesOf(current)) stampLoaded(current, entity, queryRunner);
    for (const relation of current.relations) {
      if (relation.isLazy) continue;
      const value: unknown = relation.getEntityValue(entity);
      for (const child of Array.isArray(value) ? value : [value]) {
        if (child && typeof child === "object") pending.push({ entity: child as ObjectLiteral, metadata: relation.inverseEntityMetadata });
      }
    }
  }
}

const attached = new WeakSet<DataSource>();

export function attachReadStampSubscribers(dataSource: DataSource): void {
  if (attached.has(dataSource)) return;
  for (const metadata of dataSource.entityMetadatas) {
    if (stampsCopiesOf(metadata)) dataSource.subscribers.push(new ReadStampSubscriber(metadata.target));
  }
  attached.add(dataSource);
}
