import type { EntityMetadata, ObjectLiteral, QueryRunner } from "typeorm";
import type { PersistenceSubject, PersistenceUnit } from "../internals/typeorm-internals";
import { hasCompletePrimaryKey, primaryKeyValues, rowKey } from "../versioned-metadata";
import type { AggregateGraph, ParentLink } from "./aggregate-graph";

/** A root row whose version must move because something inside its aggregate changed. */
export interface RootRef {
  metadata: EntityMetadata;
  /** Primary key values of the root row. */
  primaryKey: ObjectLiteral;
  key: string;
  /** The root object the caller holds, when known: its version is the one checked. */
  entity?: ObjectLiteral;
  /** The root's own subject when the root takes part in this save. */
  subject?: PersistenceSubject;
}

interface Node {
  metadata: EntityMetadata;
  subject?: PersistenceSubject;
  entity?: ObjectLiteral;
  primaryKey?: ObjectLiteral;
}

/**
 * Walks from a changed member up to its root(s). In order of preference, a parent is found
 * through (1) the subject TypeORM cascaded from, (2) an object of this save that holds the member
 * in a member relation, (3) the member's relation property, (4) the foreign key in the database
 * (one SELECT, only for members saved on their own).
 */
export class RootResolver {
  private readonly parentByObject = new Map<ObjectLiteral, PersistenceSubject>();
  private readonly parentByRow = new Map<string, PersistenceSubject>();

  constructor(
    private readonly graph: AggregateGraph,
    private readonly unit: PersistenceUnit,
  ) {
    for (const subject of unit.allSubjects) {
      for (const relation of graph.memberRelations(subject.metadata)) {
        for (const source of [subject.entity, subject.databaseEntity]) {
          if (!source) continue;
          const value: unknown = relation.getEntityValue(source);
          for (const child of Array.isArray(value) ? value : [value]) {
            if (!child || typeof child !== "object") continue;
            if (source === subject.entity) this.parentByObject.set(child, subject);
            if (hasCompletePrimaryKey(relation.inverseEntityMetadata, child)) {
              this.parentByRow.set(rowKey(relation.inverseEntityMetadata, child), subject);
            }
          }
        }
      }
    }
  }

  async rootsOf(subject: PersistenceSubject): Promise<RootRef[]> {
    const junctionOwner = this.graph.junctionOwner(subject.metadata);
    if (junctionOwner) {
      return subject.parentSubject ? this.resolve(this.nodeOfSubject(subject.parentSubject), 0) : [];
    }
    if (this.graph.parentLinks(subject.metadata).length === 0) return [];
    return this.resolve(this.nodeOfSubject(subject), 0);
  }

  private nodeOfSubject(subject: PersistenceSubject): Node {
    return { metadata: subject.metadata, subject, entity: subject.entity, primaryKey: subject.identifier };
  }

  private async resolve(node: Node, depth: number): Promise<RootRef[]> {
    if (depth > 32) return []; // a cycle in user relations; nothing sensible to bump
    if (this.graph.isRoot(node.metadata)) {
      const primaryKey = node.primaryKey ?? (node.entity && primaryKeyValues(node.metadata, node.entity));
      if (!primaryKey || !hasCompletePrimaryKey(node.metadata, primaryKey)) return [];
      return [{ metadata: node.metadata, primaryKey, key: rowKey(node.metadata, primaryKey), entity: node.entity, subject: node.subject }];
    }
    const roots: RootRef[] = [];
    for (const link of this.graph.parentLinks(node.metadata)) {
      const parent = await this.parentOf(node, link);
      if (parent) roots.push(...(await this.resolve(parent, depth + 1)));
    }
    return roots;
  }

  private async parentOf(node: Node, link: ParentLink): Promise<Node | undefined> {
    const cascadedFrom = node.subject?.parentSubject;
    if (cascadedFrom && cascadedFrom.metadata === link.parent) return this.nodeOfSubject(cascadedFrom);

    const holder =
      (node.entity && this.parentByObject.get(node.entity)) ??
      (node.primaryKey && hasCompletePrimaryKey(node.metadata, node.primaryKey)
        ? this.parentByRow.get(rowKey(node.metadata, node.primaryKey))
        : undefined);
    if (holder && holder.metadata === link.parent) return this.nodeOfSubject(holder);

    if (link.kind === "member-holds-key" && node.entity) {
      const value: unknown = link.relation.getEntityValue(node.entity);
      if (value && typeof value === "object" && hasCompletePrimaryKey(link.parent, value)) {
        return { metadata: link.parent, entity: value as ObjectLiteral, primaryKey: primaryKeyValues(link.parent, value) };
      }
    }
    const primaryKey = node.primaryKey ?? (node.entity && primaryKeyValues(node.metadata, node.entity));
    if (!primaryKey || !hasCompletePrimaryKey(node.metadata, primaryKey)) return undefined;
    const parentKey = await lookUpParentKey(this.unit.queryRunner, node.metadata, primaryKey, link);
    return parentKey ? { metadata: link.parent, primaryKey: parentKey } : undefined;
  }
}

/** Reads the parent's primary key through the foreign key stored in the database. */
async function lookUpParentKey(
  queryRunner: QueryRunner,
  member: EntityMetadata,
  memberKey: ObjectLiteral,
  link: ParentLink,
): Promise<ObjectLiteral | undefined> {
  const alias = "occ_member";
  if (link.kind === "member-holds-key") {
    const query = queryRunner.manager.createQueryBuilder(member.target, alias, queryRunner).withDeleted().select([]);
    const escape = (name: string) => query.escape(name);
    link.relation.joinColumns.forEach((column, index) =>
      query.addSelect(`${escape(alias)}.${escape(column.databaseName)}`, `occ_fk_${index}`),
    );
    const row: Record<string, unknown> | undefined = await query.whereInIds([member.getEntityIdMap(memberKey) ?? memberKey]).getRawOne();
    if (!row) return undefined;
    const parentKey: ObjectLiteral = {};
    let complete = true;
    link.relation.joinColumns.forEach((column, index) => {
      const value = row[`occ_fk_${index}`];
      if (value === null || value === undefined) complete = false;
      column.referencedColumn?.setEntityValue(parentKey, value);
    });
    return complete ? parentKey : undefined;
  }
  const query = queryRunner.manager.createQueryBuilder(link.parent.target, alias, queryRunner).withDeleted().select([]);
  const escape = (name: string) => query.escape(name);
  link.parent.primaryColumns.forEach((column, index) =>
    query.addSelect(`${escape(alias)}.${escape(column.databaseName)}`, `occ_pk_${index}`),
  );
  link.relation.joinColumns.forEach((column, index) => {
    query.andWhere(`${escape(alias)}.${escape(column.databaseName)} = :occ_ref_${index}`, {
      [`occ_ref_${index}`]: column.referencedColumn?.getEntityValue(memberKey),
    });
  });
  const row: Record<string, unknown> | undefined = await query.getRawOne();
  if (!row) return undefined;
  const parentKey: ObjectLiteral = {};
  link.parent.primaryColumns.forEach((column, index) => column.setEntityValue(parentKey, row[`occ_pk_${index}`]));
  return parentKey;
}
