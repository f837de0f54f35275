import type { DataSource, EntityMetadata } from "typeorm";
// A type import from the deep path: the package root exports RelationMetadata only since TypeORM 1.1.
import type { RelationMetadata } from "typeorm/metadata/RelationMetadata";
import { EntityDefinitionError } from "../errors";
import { isDeclaredAggregateRoot, memberDeclarationsOf } from "../metadata/registry";

/** How a member row finds its parent row inside the aggregate. */
export type ParentLink =
  /** The member holds the foreign key (its many-to-one / owning one-to-one `relation`). */
  | { kind: "member-holds-key"; relation: RelationMetadata; parent: EntityMetadata }
  /** The parent holds the foreign key (its owning one-to-one `relation` points at the member). */
  | { kind: "parent-holds-key"; relation: RelationMetadata; parent: EntityMetadata };

/**
 * The member's own property that leads up to its parent: the member's relation when it holds the
 * key, the inverse side of the parent's one-to-one when the parent does (undefined if not mapped).
 */
export function upwardRelation(link: ParentLink): RelationMetadata | undefined {
  return link.kind === "member-holds-key" ? link.relation : link.relation.inverseRelation;
}

export interface AggregateGraph {
  isRoot(metadata: EntityMetadata): boolean;
  /** Links to parents; empty for roots and for entities outside every aggregate. */
  parentLinks(metadata: EntityMetadata): ParentLink[];
  /** Relations of a root or member whose values are its members (for matching objects in one save). */
  memberRelations(metadata: EntityMetadata): RelationMetadata[];
  /** For a many-to-many junction table: the root or member whose relation it stores. */
  junctionOwner(metadata: EntityMetadata): EntityMetadata | undefined;
  /** A member row or a junction row of an aggregate: writing it changes its root's aggregate. */
  isMember(metadata: EntityMetadata): boolean;
}

const graphs = new WeakMap<DataSource, AggregateGraph>();

export function aggregateGraphOf(dataSource: DataSource): AggregateGraph {
  let graph = graphs.get(dataSource);
  if (!graph) {
    graph = buildGraph(dataSource.entityMetadatas);
    graphs.set(dataSource, graph);
  }
  return graph;
}

/** Any cascade makes a one-to-many or one-to-one relation of an aggregate lead to a member. */
export const cascades = (relation: RelationMetadata) =>
  relation.isCascadeInsert ||
  relation.isCascadeUpdate ||
  relation.isCascadeRemove ||
  relation.isCascadeSoftRemove ||
  relation.isCascadeRecover;

/**
 * Members are inferred from the root outwards: every entity reached through a cascading
 * one-to-many or one-to-one relation belongs to the aggregate, recursively, stopping at other
 * roots. Many-to-many targets are shared entities (tags, products), not members; adding or removing
 * one changes the owner's junction rows, which counts as a change of the owner's aggregate.
 */
function buildGraph(all: EntityMetadata[]): AggregateGraph {
  const roots = new Set(all.filter((metadata) => isDeclaredAggregateRoot(metadata.target)));
  const links = new Map<EntityMetadata, ParentLink[]>();
  const memberRelations = new Map<EntityMetadata, RelationMetadata[]>();
  const junctionOwners = new Map<EntityMetadata, EntityMetadata>();
  const inAggregate = new Set<EntityMetadata>(roots);
  const addLink = (member: EntityMetadata, link: ParentLink) => {
    assertKeyedByPrimaryKey(member, link);
    const list = links.get(member) ?? [];
    if (!list.some((existing) => existing.relation === link.relation)) list.push(link);
    links.set(member, list);
  };
  const addMemberRelation = (parent: EntityMetadata, relation: RelationMetadata) => {
    const list = memberRelations.get(parent) ?? [];
    if (!list.includes(relation)) list.push(relation);
    memberRelations.set(parent, list);
  };

  const queue = [...roots];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const relation of parent.relations) {
      if (relation.isManyToMany && relation.isOwning && relation.junctionEntityMetadata) {
        junctionOwners.set(relation.junctionEntityMetadata, parent);
        continue;
      }
      if (!cascades(relation) || !(relation.isOneToMany || relation.isOneToOne)) continue;
      const member = relation.inverseEntityMetadata;
      if (roots.has(member)) continue;
      if (relation.isOneToOne && relation.isOwning) {
        addLink(member, { kind: "parent-holds-key", relation, parent });
      } else if (relation.inverseRelation) {
        addLink(member, { kind: "member-holds-key", relation: relation.inverseRelation, parent });
      } else {
        continue;
      }
      addMemberRelation(parent, relation);
      if (!inAggregate.has(member)) {
        inAggregate.add(member);
        queue.push(member);
      }
    }
  }

  // Explicit @AggregateMember() declarations, resolved until nothing new is learned (members may chain).
  const explicit = all.flatMap((metadata) => memberDeclarationsOf(metadata.target).map((declaration) => ({ metadata, declaration })));
  for (const { metadata, declaration } of explicit) {
    const relation = metadata.findRelationWithPropertyPath(declaration.parentProperty);
    if (!relation || !(relation.isManyToOne || (relation.isOneToOne && relation.isOwning))) {
      throw new EntityDefinitionError(
        metadata.name,
        `@AggregateMember() on "${declaration.parentProperty}" must decorate a many-to-one or owning one-to-one relation to the parent`,
      );
    }
    addLink(metadata, { kind: "member-holds-key", relation, parent: relation.inverseEntityMetadata });
    if (relation.inverseRelation) addMemberRelation(relation.inverseEntityMetadata, relation.inverseRelation);
  }
  let grew = true;
  while (grew) {
    grew = false;
    for (const { metadata } of explicit) {
      if (inAggregate.has(metadata)) continue;
      if ((links.get(metadata) ?? []).some((link) => inAggregate.has(link.parent))) {
        inAggregate.add(metadata);
        grew = true;
      }
    }
  }
  for (const { metadata, declaration } of explicit) {
    if (!inAggregate.has(metadata)) {
      throw new EntityDefinitionError(
        metadata.name,
        `@AggregateMember() on "${declaration.parentProperty}" points at ${metadata.findRelationWithPropertyPath(declaration.parentProperty)?.inverseEntityMetadata.name}, which is neither an @AggregateRoot() nor a member of one`,
      );
    }
  }

  const parentLinks = (metadata: EntityMetadata) => (inAggregate.has(metadata) ? (links.get(metadata) ?? []) : []);
  return {
    isRoot: (metadata) => roots.has(metadata),
    parentLinks,
    memberRelations: (metadata) => memberRelations.get(metadata) ?? [],
    junctionOwner: (metadata) => junctionOwners.get(metadata),
    isMember: (metadata) => parentLinks(metadata).length > 0 || junctionOwners.has(metadata),
  };
}

/**
 * A parent is found from a member's foreign key (and a member from its parent's), so the key must
 * reference the other side's primary key; a relation to another unique column is refused.
 */
function assertKeyedByPrimaryKey(member: EntityMetadata, link: ParentLink): void {
  const referenced = link.kind === "member-holds-key" ? link.parent : member;
  const holder = link.kind === "member-holds-key" ? member : link.parent;
  const columns = link.relation.joinColumns.map((column) => column.referencedColumn);
  const primary = referenced.primaryColumns;
  if (columns.length !== primary.length || !columns.every((column) => column && primary.includes(column))) {
    throw new EntityDefinitionError(
      holder.name,
      `relation "${link.relation.propertyPath}" links ${member.name} into an aggregate but does not reference ${referenced.name}'s primary key; aggregate relations must`,
    );
  }
}
