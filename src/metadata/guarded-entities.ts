import type { DataSource } from "typeorm";
import { aggregateGraphOf } from "../aggregate/aggregate-graph";
import { occVersionColumn } from "../version/versioned-metadata";

/** True when a DataSource has an entity typeorm-occ guards: one with our version column, or one inside an aggregate. */
export function hasGuardedEntities(dataSource: DataSource): boolean {
  const graph = aggregateGraphOf(dataSource);
  return dataSource.entityMetadatas.some((metadata) => occVersionColumn(metadata) !== undefined || graph.isMember(metadata));
}
