import { declareAggregateMember } from "../src/metadata/registry";
import { ensureInstalled } from "../src/install";

/**
 * Puts an entity into an aggregate explicitly, for relations the inference cannot see (no
 * cascade from the parent, or a parent relation declared on the child only). Place it on the
 * child's many-to-one (or one-to-one) property that points at its parent: the root itself or
 * another member.
 *
 * @example
 * @Entity()
 * class Shipment {
 *   @AggregateMember()
 *   @ManyToOne(() => Order) order!: Order;
 * }
 */
export function AggregateMember(): PropertyDecorator {
  ensureInstalled();
  return (target, propertyName) => {
    declareAggregateMember(target.constructor, { parentProperty: String(propertyName) });
  };
}
