import fc from "fast-check";
import { StaleDataError } from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { enabledDrivers } from "../support/drivers";
import { OccStressLine, OccStressOrder, stressEntities } from "../stress/entities";
import { orderState, type OrderState } from "../stress/workloads/model";

type Action = "load" | "add-line" | "change-line" | "remove-line" | "note" | "save" | "remove";
interface Step {
  user: number;
  action: Action;
}

interface Model {
  version: number;
  state: OrderState;
}

interface User {
  order?: OccStressOrder;
  /** Changed since it was loaded (or since its last successful save). */
  dirty: boolean;
}

const canonical = (state: OrderState) => JSON.stringify({ note: state.note, lines: Object.entries(state.lines).sort() });

const steps = fc.array(
  fc.record({
    user: fc.integer({ min: 0, max: 2 }),
    action: fc.constantFrom<Action>("load", "load", "add-line", "change-line", "remove-line", "note", "save", "save", "remove"),
  }),
  { minLength: 1, maxLength: 25 },
);

/**
 * Three users load, change, save and remove one Order aggregate in a random order, each from its
 * own (possibly outdated) copy. A sequential model says what must happen: a save or remove from a
 * copy at the current version applies completely; from an older copy it raises StaleDataError
 * and changes nothing. After every step the database must equal the model.
 */
describe.each(enabledDrivers())("random interleavings of aggregate users on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: stressEntities });
  });
  afterAll(async () => db?.close());

  const orders = () => db.dataSource.getRepository(OccStressOrder);
  const lines = () => db.dataSource.getRepository(OccStressLine);
  const read = async (id: number): Promise<Model | null> => {
    const order = await orders().findOne({ where: { id }, relations: { lines: true } });
    return order ? { version: order.version, state: orderState(order) } : null;
  };

  it("every save or remove applies fully or raises StaleDataError, as the sequential model says", async () => {
    await fc.assert(
      fc.asyncProperty(steps, async (script: Step[]) => {
        const created = await orders().save(orders().create({ note: "new", lines: [{ label: "first", quantity: 1 } as OccStressLine] }));
        const id = created.id;
        let model: Model | null = { version: created.version, state: orderState(created) };
        const users: User[] = [{ dirty: false }, { dirty: false }, { dirty: false }];

        for (const [index, { user: u, action }] of script.entries()) {
          const user = users[u];
          const tag = `u${u}.${index}`;
          const order = user.order;
          switch (action) {
            case "load": {
              user.order = (await orders().findOne({ where: { id }, relations: { lines: true } })) ?? undefined;
              user.dirty = false;
              break;
            }
            case "add-line":
              if (order) {
                order.lines.push(lines().create({ label: tag, quantity: index + 1 }));
                user.dirty = true;
              }
              break;
            case "change-line":
              if (order && order.lines.length > 0) {
                const line = order.lines[index % order.lines.length];
                line.quantity = line.quantity + 1000 + index;
                user.dirty = true;
              }
              break;
            case "remove-line":
              if (order && order.lines.length > 0) {
                order.lines.splice(index % order.lines.length, 1);
                user.dirty = true;
              }
              break;
            case "note":
              if (order) {
                order.note = tag;
                user.dirty = true;
              }
              break;
            case "save": {
              if (!order) break;
              const before = order.version;
              const intended = orderState(order);
              const error = await orders()
                .save(order)
                .then(
                  () => undefined,
                  (e: unknown) => e,
                );
              if (!user.dirty || (model && canonical(intended) === canonical(model.state))) {
                // Nothing to write against the current row: a no-op, or a refusal; never a change.
                if (error !== undefined) expect(error).toBeInstanceOf(StaleDataError);
                user.order = undefined; // its in-memory version is not specified here; reload
              } else if (model && before === model.version) {
                expect(error).toBeUndefined();
                model = { version: model.version + 1, state: intended };
                expect(order.version).toBe(model.version);
                user.dirty = false;
              } else {
                expect(error).toBeInstanceOf(StaleDataError);
                expect(order.version).toBe(before); // a failed save leaves the object as it was
              }
              break;
            }
            case "remove": {
              if (!order) break;
              const before = order.version;
              const error = await orders()
                .remove(order)
                .then(
                  () => undefined,
                  (e: unknown) => e,
                );
              if (model && before === model.version && !user.dirty) {
                expect(error).toBeUndefined();
                model = null;
              } else if (model && before === model.version) {
                // Removing a changed copy: TypeORM removes the row; the lines it holds go with it.
                if (error === undefined) model = null;
                else expect(error).toBeInstanceOf(StaleDataError);
              } else {
                expect(error).toBeInstanceOf(StaleDataError);
              }
              user.order = undefined;
              break;
            }
          }
          const actual = await read(id);
          expect(actual && { version: actual.version, state: canonical(actual.state) }).toEqual(
            model && { version: model.version, state: canonical(model.state) },
          );
        }
        if (model === null) expect(await lines().count({ where: { order: { id } } })).toBe(0);
      }),
      { numRuns: 25, seed: Number(process.env.FC_SEED ?? 20261123) },
    );
  });
});
