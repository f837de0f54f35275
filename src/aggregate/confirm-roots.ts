import type { EntityMetadata } from "typeorm";
import { dataSourceOf, type PersistenceUnit } from "../internals/typeorm-internals";
import { rowGoneError } from "../persistence/stale-lookup";
import type { Undo } from "../transaction/transaction-state";
import { isSqliteFamily } from "../version/version-range";
import { aggregateGraphOf } from "./aggregate-graph";
import { moveNewRootsUnchecked } from "./lock-roots-first";
import { readParents, type ParentsByLink, type RowRef } from "./parent-lookup";
import { RootResolver, type RootRef } from "./root-resolver";
import type { AggregatePlan } from "./write-plan";

/** Enough for a parent that moved once between the first read and the lock; a chain still moving after that ends the loop. */
const ROUNDS = 3;

/**
 * Roots found by reading the database were read before they were locked: a member's parent could
 * move to another aggregate, or be removed, in between. Once a root is locked nothing leaves its
 * aggregate (every move locks the root it leaves), so the rows read are read once more under the
 * locks (one statement per entity). Nothing changed: the roots stand. Something did: the chains
 * are resolved again, a root not locked yet is moved too (unchecked), until nothing new turns up,
 * and a parent that is gone raises StaleDataError ("row no longer exists") instead of the
 * foreign-key violation the member's INSERT would hit.
 *
 * SQLite needs none of this: a transaction whose reads went stale cannot write (SQLITE_BUSY_SNAPSHOT
 * in WAL mode; a reader's lock holds writers off otherwise).
 */
export async function confirmRoots(unit: PersistenceUnit, plan: AggregatePlan, undos: Undo[]): Promise<void> {
  if (plan.databaseReads.length === 0) return;
  const dataSource = dataSourceOf(unit.queryRunner);
  if (isSqliteFamily(dataSource.driver.options.type)) return;
  if (await stillAsRead(unit, plan.databaseReads)) return;
  const graph = aggregateGraphOf(dataSource);
  const locked = new Set(plan.roots.map((root) => root.ref.key));
  for (let round = 0; round < ROUNDS; round++) {
    const membership = await new RootResolver(graph, unit.queryRunner, unit.allSubjects, true).membershipOf(plan.changed);
    const roots: RootRef[] = [];
    for (const { current, next, gone } of membership.values()) {
      if (gone.length > 0) throw rowGoneError(gone[0]);
      // A root this unit inserts has nothing to lock yet.
      roots.push(...[...current, ...next].filter((root) => !(root.subject && (root.subject.mustBeInserted || !root.subject.identifier))));
    }
    if ((await moveNewRootsUnchecked(unit.queryRunner, roots, locked, undos)) === 0) return;
  }
}

/** Whether every row read still exists with the same parents, read now as committed. */
async function stillAsRead(unit: PersistenceUnit, reads: AggregatePlan["databaseReads"]): Promise<boolean> {
  const graph = aggregateGraphOf(dataSourceOf(unit.queryRunner));
  const byEntity = new Map<EntityMetadata, { row: RowRef; parents: ParentsByLink }[]>();
  for (const read of reads) byEntity.set(read.row.metadata, [...(byEntity.get(read.row.metadata) ?? []), read]);
  for (const [metadata, entityReads] of byEntity) {
    const now = await readParents(
      unit.queryRunner,
      graph,
      metadata,
      entityReads.map((read) => read.row),
      true,
    );
    for (const { row, parents } of entityReads) {
      const current = now.get(row.key);
      if (!current || parents.size === 0) return false; // gone, or missing before: resolve again
      for (const [link, parent] of parents) if ((current.get(link)?.key ?? null) !== (parent?.key ?? null)) return false;
    }
  }
  return true;
}
