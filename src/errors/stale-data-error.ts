import { OccError } from "./occ-error";
import { formatPrimaryKey } from "./format";

/** Which write found the row changed or gone. */
export type StaleOperation = "update" | "delete" | "soft-delete" | "restore";

export interface StaleDataDetails {
  entityName: string;
  primaryKey: Record<string, unknown>;
  /**
   * The version the writer's copy carried; `null` when it carried none and only needed the row to
   * exist (a member added to its root by the root's key alone, under a parent named by key).
   */
  expectedVersion: number | null;
  /** The row's version when it could be read after the failed write; `null` when the row is gone. */
  actualVersion: number | null;
  operation: StaleOperation;
  entity: object | undefined;
  /**
   * The version the copy's data was read at, when the copy claimed a newer one (an `If-Match`
   * newer than the read, a copy from a lagging replica or a cache): found before anything was sent.
   */
  readVersion?: number;
  /** Why the copy is stale when the database alone would not have said so (see docs/how-saves-are-checked.md, "Copies and what they were read at"). */
  reason?: string;
}

/**
 * A version-checked UPDATE or DELETE matched no row: somebody else changed (or removed) the row
 * since it was read. The surrounding transaction is rolled back; reload and retry, or report a
 * conflict (HTTP 409/412).
 *
 * @example
 * try {
 *   await orders.save(order);
 * } catch (error) {
 *   if (error instanceof StaleDataError) return reply.status(409).send(error.message);
 *   throw error;
 * }
 */
export class StaleDataError extends OccError implements StaleDataDetails {
  override readonly name = "StaleDataError";
  readonly code = "stale-data";
  readonly entityName: string;
  readonly primaryKey: Record<string, unknown>;
  readonly expectedVersion: number | null;
  readonly actualVersion: number | null;
  readonly operation: StaleOperation;
  readonly entity: object | undefined;
  readonly readVersion: number | undefined;
  readonly reason: string | undefined;

  constructor(details: StaleDataDetails) {
    super(StaleDataError.describe(details));
    this.entityName = details.entityName;
    this.primaryKey = details.primaryKey;
    this.expectedVersion = details.expectedVersion;
    this.actualVersion = details.actualVersion;
    this.operation = details.operation;
    this.entity = details.entity;
    this.readVersion = details.readVersion;
    this.reason = details.reason;
  }

  private static describe(d: StaleDataDetails): string {
    const found = d.actualVersion === null ? "row no longer exists" : `found ${d.actualVersion}`;
    const expected = d.expectedVersion === null ? "expected the row to exist" : `expected version ${d.expectedVersion}`;
    // Versions only grow while a row lives: a lower one on the primary means it is not the row the version came from.
    const lower =
      d.actualVersion !== null && d.expectedVersion !== null && d.actualVersion < d.expectedVersion
        ? `; the row holds a lower version than expected: it was deleted and inserted again, or version ${d.expectedVersion} never came from this row`
        : "";
    const why = d.reason ? `: ${d.reason}` : "";
    return `${d.entityName}#${formatPrimaryKey(d.primaryKey)} is stale: ${expected}, ${found} (${d.operation})${lower}${why}`;
  }
}

/**
 * `instanceof` fails when an application ends up with two copies of typeorm-occ; this guard checks
 * the error's shape instead.
 */
export function isStaleDataError(error: unknown): error is StaleDataError {
  if (error instanceof StaleDataError) return true;
  if (typeof error !== "object" || error === null) return false;
  const candidate = error as Partial<StaleDataError>;
  return (
    candidate.name === "StaleDataError" &&
    typeof candidate.entityName === "string" &&
    (typeof candidate.expectedVersion === "number" || candidate.expectedVersion === null)
  );
}
