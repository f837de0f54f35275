import type { ObjectLiteral } from "typeorm";
import { aggregateGraphOf } from "../aggregate/aggregate-graph";
import type { Membership } from "../aggregate/root-resolver";
import { dataSourceOf, type PersistenceSubject, type PersistenceUnit } from "../internals/typeorm-internals";
import { transactionStateOf, type Undo } from "../transaction/transaction-state";
import { isVersionNumber } from "../version/version-value";
import { occVersionColumn, rowKey } from "../version/versioned-metadata";
import { tick } from "./clock";
import { stampRead } from "./read-stamps";
import { dropSnapshot, snapshotsCopiesOf, takeSnapshot } from "./read-snapshots";
import { recordMemberWrite, recordRowWrite } from "./transaction-writes";

/**
 * When a unit of work's last statement returned (before TypeORM's after-events, whose subscribers
 * may write or read through the same transaction): records what the unit wrote — the rows
 * (`writing`: the subjects that wrote, taken before TypeORM emptied their change maps) and the
 * members inside each aggregate. Returns the moment the unit's objects are current as of, for
 * {@link stampUnitCopies}: after its writes, before anything an after-event does.
 */
export function recordUnitWrites(
  unit: PersistenceUnit,
  writing: PersistenceSubject[],
  membership: ReadonlyMap<PersistenceSubject, Membership> | undefined,
): number {
  const queryRunner = unit.queryRunner;
  const graph = aggregateGraphOf(dataSourceOf(queryRunner));
  for (const subject of writing) {
    if (!subject.identifier) continue;
    if (occVersionColumn(subject.metadata) || graph.isRoot(subject.metadata) || graph.isMember(subject.metadata))
      recordRowWrite(queryRunner, subject.metadata, subject.identifier);
  }
  for (const [subject, { current, next }] of membership ?? []) {
    const before = new Set(current.map((root) => root.key));
    const after = new Set(next.map((root) => root.key));
    const member = { metadata: subject.metadata, identifier: subject.identifier };
    // A recovered row comes back into its aggregate, a soft-removed one leaves it (their queries hide it).
    if (subject.mustBeInserted || subject.mustBeRecovered)
      recordMemberWrite(queryRunner, after.size > 0 ? after : before, "insert", member);
    else if (subject.mustBeRemoved || subject.mustBeSoftRemoved) recordMemberWrite(queryRunner, before, "delete", member);
    else {
      recordMemberWrite(
        queryRunner,
        [...before].filter((key) => after.has(key) || after.size === 0),
        "update",
        member,
      );
      recordMemberWrite(queryRunner, after.size === 0 ? [] : [...before].filter((key) => !after.has(key)), "delete", member);
      recordMemberWrite(
        queryRunner,
        [...after].filter((key) => !before.has(key)),
        "insert",
        member,
      );
    }
  }
  return tick();
}

/**
 * After a unit of work succeeded: every object it held is current as of `seq` — the database holds
 * what they hold — and so is its snapshot. Stamps and snapshots go back with `undos` if the
 * transaction rolls back.
 */
export function stampUnitCopies(unit: PersistenceUnit, seq: number, undos: Undo[]): void {
  const queryRunner = unit.queryRunner;
  const state = queryRunner.isTransactionActive ? transactionStateOf(queryRunner) : undefined;
  for (const subject of unit.allSubjects) {
    if (!subject.entity) continue;
    // Written again since (an after-event subscriber, through the same transaction): the object is behind the row.
    const overtaken = Boolean(
      state && subject.identifier && state.writesTo(rowKey(subject.metadata, subject.identifier)).some((write) => write.seq > seq),
    );
    undos.push(stampRead(subject.entity, versionOf(subject, subject.entity), queryRunner, seq, overtaken));
    if (snapshotsCopiesOf(subject.metadata))
      undos.push(subject.mustBeRemoved ? dropSnapshot(subject.entity) : takeSnapshot(subject.metadata, subject.entity));
  }
}

function versionOf(subject: PersistenceSubject, entity: ObjectLiteral): number | undefined {
  const value: unknown = occVersionColumn(subject.metadata)?.getEntityValue(entity);
  return isVersionNumber(value) ? value : undefined;
}
