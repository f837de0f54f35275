import type { DataSource, EntitySubscriberInterface, LoadEvent, ObjectLiteral } from "typeorm";
import { aggregateGraphOf } from "../aggregate/aggregate-graph";
import { isVersionNumber } from "../version-value";
import { occVersionColumn } from "../versioned-metadata";
import { stampRead } from "./read-stamps";

/**
 * Stamps every versioned row and every row of an aggregate TypeORM hydrates with what it was read
 * as (see ReadStamp). One subscriber per such entity, so TypeORM calls it for those only.
 */
class ReadStampSubscriber implements EntitySubscriberInterface<ObjectLiteral> {
  constructor(private readonly target: Function | string) {}

  listenTo(): Function | string {
    return this.target;
  }

  afterLoad(entity: ObjectLiteral, event?: LoadEvent<ObjectLiteral>): void {
    const metadata = event?.metadata;
    if (!metadata) return;
    const version: unknown = occVersionColumn(metadata)?.getEntityValue(entity);
    stampRead(entity, isVersionNumber(version) ? version : undefined, event.queryRunner);
  }
}

const attached = new WeakSet<DataSource>();

export function attachReadStampSubscribers(dataSource: DataSource): void {
  if (attached.has(dataSource)) return;
  const graph = aggregateGraphOf(dataSource);
  for (const metadata of dataSource.entityMetadatas) {
    if (occVersionColumn(metadata) || graph.isRoot(metadata) || graph.isMember(metadata)) dataSource.subscribers.push(new ReadStampSubscriber(metadata.target));
  }
  attached.add(dataSource);
}
