import { declareAggregateRoot } from "../src/metadata/registry";
import { ensureInstalled } from "../src/install";

/**
 * Declares an aggregate root: its version moves (once per transaction) whenever anything inside
 * its aggregate is inserted, updated, removed or orphaned, so a concurrent writer holding an older
 * version of the root gets `StaleDataError` even when it touched different rows. Members are the
 * entities reached through cascading one-to-many / one-to-one relations, recursively; declare
 * others with `@AggregateMember()`. The class needs `@VersionColumn()`.
 *
 * @example
 * @AggregateRoot()
 * @Entity()
 * class Order {
 *   @PrimaryGeneratedColumn() id!: number;
 *   @VersionColumn() version!: number;
 *   @OneToMany(() => OrderLine, (line) => line.order, { cascade: true }) lines!: OrderLine[];
 * }
 */
export function AggregateRoot(): ClassDecorator {
  ensureInstalled();
  return (target) => {
    declareAggregateRoot(target);
  };
}
