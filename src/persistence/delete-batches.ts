import type { EntityMetadata, ObjectLiteral } from "typeorm";
import { dataSourceOf } from "../internals/typeorm-internals";

/**
 * Bound parameters one statement may carry: PostgreSQL's and MySQL's protocols count them in 16
 * bits; SQLite allows 32,766 since 3.32 (better-sqlite3 and sqlite3 bundle newer ones). Elsewhere
 * 999, the oldest SQLite default (SQL Server allows 2,100).
 */
const PARAMETER_LIMITS: Record<string, number> = {
  postgres: 65_535,
  cockroachdb: 65_535,
  mysql: 65_535,
  mariadb: 65_535,
  "aurora-mysql": 65_535,
  "better-sqlite3": 32_766,
  sqlite: 32_766,
};
const DEFAULT_PARAMETER_LIMIT = 999;

/** OR-ed conditions per statement: SQLite refuses expressions over 1,000 levels deep, and an OR chain is as deep as it is long. */
const MAX_CONDITIONS = 500;

export interface Removal {
  identifier: ObjectLiteral;
  expectedVersion: number;
}

/** One version-checked DELETE: OR-ed conditions, each a set of rows the statement removes only at their expected version. */
export interface DeleteBatch<R extends Removal> {
  /** Every row of the statement, in the caller's order. */
  rows: R[];
  /**
   * Single-column keys: the rows sharing one expected version, `(version = :v AND pk IN (…))`;
   * composite keys: one row each, `(pk1 = :a AND pk2 = :b AND version = :v)`.
   */
  conditions: R[][];
}

/**
 * Splits one entity's removals into as few statements as the database's limits allow. Rows are
 * grouped by expected version, so a batch removed after one load (mostly a handful of distinct
 * versions) needs a handful of `IN` lists, which databases plan as cheaply as TypeORM's own
 * `pk IN (…)`, instead of one `(pk AND version)` term per row.
 */
export function deleteBatches<R extends Removal>(metadata: EntityMetadata, removals: R[]): DeleteBatch<R>[] {
  const limit = PARAMETER_LIMITS[dataSourceOf(metadata).driver.options.type] ?? DEFAULT_PARAMETER_LIMIT;
  const keyColumns = metadata.primaryColumns.length;
  const composite = keyColumns > 1;
  const order = new Map(removals.map((removal, index) => [removal, index]));
  const byVersion = new Map<number, R[]>();
  for (const removal of removals) {
    const rows = byVersion.get(removal.expectedVersion);
    if (rows) rows.push(removal);
    else byVersion.set(removal.expectedVersion, [removal]);
  }

  const batches: DeleteBatch<R>[] = [];
  let batch: DeleteBatch<R> = { rows: [], conditions: [] };
  let parameters = 0;
  const flush = () => {
    batch.rows.sort((a, b) => order.get(a)! - order.get(b)!);
    batches.push(batch);
    batch = { rows: [], conditions: [] };
    parameters = 0;
  };
  for (const rows of byVersion.values()) {
    let condition: R[] | undefined;
    for (const row of rows) {
      const opening = composite || !condition;
      // Key values, plus the version once per condition.
      const cost = composite ? keyColumns + 1 : opening ? 2 : 1;
      if (batch.rows.length > 0 && (parameters + cost > limit || (opening && batch.conditions.length >= MAX_CONDITIONS))) {
        flush();
        condition = undefined;
      }
      if (composite || !condition) batch.conditions.push((condition = []));
      condition.push(row);
      batch.rows.push(row);
      parameters += composite ? cost : condition.length === 1 ? 2 : 1;
    }
  }
  if (batch.rows.length > 0) flush();
  return batches;
}
