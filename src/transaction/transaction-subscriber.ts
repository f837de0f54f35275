import type { DataSource, EntitySubscriberInterface, TransactionCommitEvent, TransactionRollbackEvent } from "typeorm";
import { transactionCommitted, transactionRolledBack } from "./transaction-state";

/**
 * Follows transaction ends so in-memory versions are restored when a transaction rolls back.
 * Added to `dataSource.subscribers` by typeorm-occ itself: nothing for the user to register.
 */
class TransactionSubscriber implements EntitySubscriberInterface {
  afterTransactionCommit(event: TransactionCommitEvent): void {
    transactionCommitted(event.queryRunner);
  }

  afterTransactionRollback(event: TransactionRollbackEvent): void {
    transactionRolledBack(event.queryRunner);
  }
}

const subscriber = new TransactionSubscriber();

export function attachTransactionSubscriber(dataSource: DataSource): void {
  if (!dataSource.subscribers.includes(subscriber)) dataSource.subscribers.push(subscriber);
}
