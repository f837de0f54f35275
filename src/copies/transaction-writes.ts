import type { EntityMetadata, ObjectLiteral, QueryRunner } from "typeorm";
import { transactionDepthOf } from "../internals/typeorm-internals";
import { transactionStateOf } from "../transaction/transaction-state";
import { rowKey } from "../version/versioned-metadata";
import { tick } from "./clock";

/**
 * Records, in the transaction open on `queryRunner`, writes that copies read before them do not
 * show (see CopyClaim): nothing outside a transaction, where each statement stands alone.
 */
export function recordRowWrite(queryRunner: QueryRunner, metadata: EntityMetadata, identifier: ObjectLiteral): void {
  if (!queryRunner.isTransactionActive) return;
  transactionStateOf(queryRunner).recordWrite(rowKey(metadata, identifier), { seq: tick(), kind: "row" }, transactionDepthOf(queryRunner));
}

/** A member row was inserted into, changed in, or removed from the aggregate of each root key. */
export function recordMemberWrite(
  queryRunner: QueryRunner,
  rootKeys: Iterable<string>,
  change: "insert" | "update" | "delete",
  member: { metadata: EntityMetadata; identifier: ObjectLiteral | undefined },
): void {
  if (!queryRunner.isTransactionActive) return;
  const state = transactionStateOf(queryRunner);
  const depth = transactionDepthOf(queryRunner);
  const key = member.identifier ? rowKey(member.metadata, member.identifier) : undefined;
  for (const rootKey of rootKeys)
    state.recordWrite(rootKey, { seq: tick(), kind: "member", change, member: { metadata: member.metadata, key } }, depth);
}
