import type { ObjectLiteral } from "typeorm";
import { aggregateGraphOf } from "../aggregate/aggregate-graph";
import type { Membership } from "../aggregate/root-resolver";
import { dataSourceOf, type PersistenceSubject, type PersistenceUnit } from "../internals/typeorm-internals";
import type { Undo } from "../transaction-state";
import { isVersionNumber } from "../version-value";
import { occVersionColumn } from "../versioned-metadata";
import { stampRead } from "./read-stamps";
import { recordMemberWrite, recordRowWrite } from "./transaction-writes";

/**
 * After a unit of work succeeded: records what it wrote in the transaction (`writing`: the subjects
 * that wrote, taken before TypeORM emptied their change maps; and the
 * members inside each aggregate), then stamps every object the unit held as current — the database
 * now holds what they hold. The stamps go back with `undos` if the transaction rolls back.
 */
export function recordUnitWrites(
  unit: PersistenceUnit,
  writing: PersistenceSubject[],
  membership: ReadonlyMap<PersistenceSubject, Membership> | undefined,
  undos: Undo[],
): void {
  const queryRunner = unit.queryRunner;
  const graph = aggregateGraphOf(dataSourceOf(queryRunner));
  for (const subject of writing) {
    if (!subject.identifier) continue;
    if (occVersionColumn(subject.metadata) || graph.isRoot(subject.metadata) || graph.isMember(subject.metadata)) recordRowWrite(queryRunner, subject.metadata, subject.identifier);
  }
  for (const [subject, { current, next }] of membership ?? []) {
    const before = new Set(current.map((root) => root.key));
    const after = new Set(next.map((root) => root.key));
    const member = { metadata: subject.metadata, identifier: subject.identifier };
    if (subject.mustBeInserted) recordMemberWrite(queryRunner, after.size > 0 ? after : before, "insert", member);
    else if (subject.mustBeRemoved) recordMemberWrite(queryRunner, before, "delete", member);
    else {
      recordMemberWrite(queryRunner, [...before].filter((key) => after.has(key) || after.size === 0), "update", member);
      recordMemberWrite(queryRunner, after.size === 0 ? [] : [...before].filter((key) => !after.has(key)), "delete", member);
      recordMemberWrite(queryRunner, [...after].filter((key) => !before.has(key)), "insert", member);
    }
  }
  for (const subject of unit.allSubjects) {
    if (subject.entity) undos.push(stampRead(subject.entity, versionOf(subject, subject.entity), queryRunner));
  }
}

function versionOf(subject: PersistenceSubject, entity: ObjectLiteral): number | undefined {
  const value: unknown = occVersionColumn(subject.metadata)?.getEntityValue(entity);
  return isVersionNumber(value) ? value : undefined;
}
