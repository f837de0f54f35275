import type { ObjectLiteral } from "typeorm";
import { StaleDataError, UnguardedWriteError, formatPrimaryKey } from "../errors";
import type { PersistenceSubject, PersistenceUnit } from "../internals/typeorm-internals";
import { allowsUncheckedMemberWrite } from "../write-guard/unchecked-member-write";
import { occVersionColumn, primaryKeyValues, rowKey } from "../version/versioned-metadata";
import { upwardRelation, type AggregateGraph } from "./aggregate-graph";
import type { Membership } from "./root-resolver";
import { isResurrection, readPass, rootLoadedWith, wasReadFromDatabase } from "./loaded-with";

/**
 * A member row without a version of its own is guarded by its root's version alone. Changing or
 * removing one whose root version nobody checks — a member loaded on its own and saved on its
 * own — could overwrite a change made meanwhile through the root, so it is refused before
 * anything is written, unless the caller opted into last-writer-wins with `uncheckedMemberWrite()`.
 * Inserting a member overwrites nothing: it only moves its root (unchecked when the root is
 * given by key alone).
 */
export function assertMembersGuarded(
  unit: PersistenceUnit,
  graph: AggregateGraph,
  membership: Map<PersistenceSubject, Membership>,
  checkedRoots: ReadonlyMap<string, ObjectLiteral | undefined>,
): void {
  if (allowsUncheckedMemberWrite(unit.options)) return;
  for (const [subject, { current }] of membership) {
    const junction = graph.junctionOwner(subject.metadata) !== undefined;
    const overwrites =
      junction ||
      isResurrection(subject) ||
      (!subject.mustBeInserted && (subject.mustBeUpdated || subject.mustBeRemoved || subject.mustBeSoftRemoved || subject.mustBeRecovered));
    if (!overwrites || occVersionColumn(subject.metadata)) continue;
    // A member read from the database is checked against the root read with it, or against a copy
    // of its root read no later than the member (relationLoadStrategy "query", lines found after
    // their order): whatever changed in between moved that root, so its check catches it. A root
    // read after the member (assigned to it, saved beside it, a lazy relation) says nothing about it.
    const readFromDatabase = Boolean(subject.entity && wasReadFromDatabase(subject.entity) && !junction);
    const readWith = readFromDatabase ? rootLoadedWith(subject.entity!) : undefined;
    const guarded = readWith
      ? checkedRoots.has(rowKey(readWith.metadata, primaryKeyValues(readWith.metadata, readWith.root)))
      : readFromDatabase
        ? current.some((root) => checkedRoots.has(root.key) && readNoLaterThan(checkedRoots.get(root.key), subject.entity!))
        : current.some((root) => checkedRoots.has(root.key));
    if (guarded) continue;
    const row = subject.identifier ?? subject.entity;
    const name = junction
      ? `${graph.junctionOwner(subject.metadata)!.name} (its many-to-many links)`
      : `${subject.metadata.name}${row ? `#${formatPrimaryKey(primaryKeyValues(subject.metadata, row))}` : ""}`;
    if (isResurrection(subject)) {
      throw new UnguardedWriteError(
        subject.metadata.name,
        "save",
        `${name} was read from the database and its row no longer exists (removed meanwhile): saving it would insert it again from an outdated read. ` +
          "Reload it; load it with its root to have such a removal reported as StaleDataError; or pass uncheckedMemberWrite() to insert it again deliberately",
      );
    }
    if (current.length === 0) continue; // in no aggregate: nothing guards it, like a plain row
    const root = current[0];
    const operation = subject.mustBeRemoved
      ? "remove"
      : subject.mustBeSoftRemoved
        ? "soft-remove"
        : subject.mustBeRecovered
          ? "recover"
          : "save";
    throw new UnguardedWriteError(
      subject.metadata.name,
      operation,
      `${name} belongs to aggregate ${root.metadata.name}#${formatPrimaryKey(primaryKeyValues(root.metadata, root.primaryKey))}, ` +
        `and no version of that ${root.metadata.name}${readFromDatabase ? " read together with it (in the same statement)" : ""} is known to check it against: a change made meanwhile through the ${root.metadata.name} would be overwritten. ` +
        `Load it with its root (e.g. relations: { ${rootRelationHint(subject, graph)} }) or save it through the ${root.metadata.name}, ` +
        `give ${subject.metadata.name} its own @VersionColumn(), or pass uncheckedMemberWrite() to accept last-writer-wins for this write`,
    );
  }
}

/** The root copy was read from the database in the same pass as the member or an earlier one. */
function readNoLaterThan(root: ObjectLiteral | undefined, member: object): boolean {
  const rootPass = root ? readPass(root) : undefined;
  const memberPass = readPass(member);
  return rootPass !== undefined && memberPass !== undefined && rootPass <= memberPass;
}

/** `order: true`, or `line: { order: true }` for a grandchild: the relations that load the root with the row. */
function rootRelationHint(subject: PersistenceSubject, graph: AggregateGraph): string {
  const path: string[] = [];
  const seen = new Set<unknown>();
  for (let metadata = subject.metadata; !graph.isRoot(metadata) && !seen.has(metadata);) {
    seen.add(metadata);
    const link = graph.parentLinks(metadata).find((candidate) => upwardRelation(candidate) !== undefined);
    if (!link) return "…";
    path.push(upwardRelation(link)!.propertyPath);
    metadata = link.parent;
  }
  return path.reduceRight((inner, property) => (inner ? `${property}: { ${inner} }` : `${property}: true`), "");
}

/**
 * Members read with one copy of their root, saved beside another copy of it read at another
 * version: the older read is stale (the root moved in between), whichever copy the save holds.
 */
export function assertOneReadOfEachRoot(changed: PersistenceSubject[], carried: ReadonlyMap<string, number>): void {
  for (const subject of changed) {
    const readWith = subject.entity && wasReadFromDatabase(subject.entity) ? rootLoadedWith(subject.entity) : undefined;
    if (!readWith) continue;
    const primaryKey = primaryKeyValues(readWith.metadata, readWith.root);
    const other = carried.get(rowKey(readWith.metadata, primaryKey));
    const version: unknown = occVersionColumn(readWith.metadata)?.getEntityValue(readWith.root);
    if (other === undefined || version === undefined || version === null || Number(version) === other) continue;
    throw new StaleDataError({
      entityName: readWith.metadata.name,
      primaryKey,
      expectedVersion: Number(version),
      actualVersion: other,
      operation: "update",
      entity: readWith.root,
    });
  }
}
