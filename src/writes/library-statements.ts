import { dataSourceOf } from "../internals/typeorm-internals";
import type { EntityManager, UpdateResult } from "typeorm";
import { TypeOrmCompatibilityError } from "../errors";
import { runLibraryWrite } from "../write-guard/library-write-context";
import { runWriteUnit } from "../sqlite-gate/shared-connection-gate";

/**
 * Runs the statements of one write path with the caller's manager, marked as the library's own.
 * A manager bound to a query runner (a transaction's) is joined as is; the global manager's
 * statements form a write unit of their own, queued like a standalone save() on drivers that share
 * one connection (see src/shared-connection-gate.ts), so they never land inside another caller's
 * open transaction.
 */
export function runLibraryStatements<T>(manager: EntityManager, work: () => Promise<T>): Promise<T> {
  return runLibraryWrite(() => (manager.queryRunner ? work() : runWriteUnit(dataSourceOf(manager), work)));
}

/** The rows an UPDATE matched; a driver that cannot say is refused rather than trusted. */
export function matchedRows(result: UpdateResult, entityName: string, operation: string): number {
  if (typeof result.affected === "number") return result.affected;
  throw new TypeOrmCompatibilityError(
    `${entityName}: the database driver did not report affected rows, so ${operation} cannot tell whether its condition held`,
  );
}
