import { OccError } from "./occ-error";
import { describeCriteria } from "./format";

/** Which conditional write matched the wrong number of rows. */
export type ConditionalOperation = "updateIf" | "insertOnce";

export interface ConditionNotMetDetails {
  entityName: string;
  operation: ConditionalOperation;
  /** The `where` the caller passed (find-where syntax, operators included), as given. */
  criteria: Readonly<Record<string, unknown>>;
  /** Rows the statement matched (0 unless `expectedRows` asked for an exact count). */
  matchedRows: number;
  /** The exact count asked for with `expectedRows`; `undefined` means "at least one". */
  expectedRows: number | undefined;
  /**
   * Whether a row matching the criteria's identifying part exists (the primary key when the
   * criteria hold all of it, otherwise their plain-value fields), read only on this failure path;
   * `null` when the criteria have no plain-value field to look a row up by.
   */
  rowExists: boolean | null;
}

/**
 * A conditional write matched a different number of rows than required: for `updateIf`, no row
 * (or not exactly `expectedRows`) satisfied its `where`, e.g. a withdrawal from a balance that is
 * too small. Nothing was written. `rowExists` tells "the condition is false" apart from "there is
 * no such row".
 *
 * @example
 * try {
 *   await updateIf(wallets, { id, balance: MoreThanOrEqual(100) }, { balance: decrement(100) });
 * } catch (error) {
 *   if (error instanceof ConditionNotMetError && error.rowExists) return reply.status(409).send("insufficient funds");
 *   throw error;
 * }
 */
export class ConditionNotMetError extends OccError implements ConditionNotMetDetails {
  override readonly name = "ConditionNotMetError";
  readonly code = "condition-not-met";
  readonly entityName: string;
  readonly operation: ConditionalOperation;
  readonly criteria: Readonly<Record<string, unknown>>;
  readonly matchedRows: number;
  readonly expectedRows: number | undefined;
  readonly rowExists: boolean | null;

  constructor(details: ConditionNotMetDetails) {
    super(ConditionNotMetError.describe(details));
    this.entityName = details.entityName;
    this.operation = details.operation;
    this.criteria = details.criteria;
    this.matchedRows = details.matchedRows;
    this.expectedRows = details.expectedRows;
    this.rowExists = details.rowExists;
  }

  private static describe(d: ConditionNotMetDetails): string {
    const expected = d.expectedRows === undefined ? "at least 1" : `exactly ${d.expectedRows}`;
    const exists = d.rowExists === null ? "" : d.rowExists ? "; the row exists" : "; no such row";
    return `${d.entityName}: ${d.operation} condition not met: ${d.matchedRows} rows matched ${describeCriteria(d.criteria)}, expected ${expected}${exists}`;
  }
}
