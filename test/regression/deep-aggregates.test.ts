import { uncheckedMemberWrite } from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { enabledDrivers } from "../support/drivers";
import { Reply, Thread, guaranteeEntities } from "../support/entities/guarantee";

const DEPTH = 60;

/**
 * Issue 9, item 5: members were resolved only to depth 32 (a reply chain deeper than that saved
 * without moving the root), one SELECT per level. Now there is no depth limit, a cycle ends where a
 * row repeats, and a self-referencing chain is resolved in one recursive statement.
 */
describe.each(enabledDrivers({ mariadb: true }))("deep aggregates on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: guaranteeEntities });
  });
  afterAll(async () => db?.close());

  const threads = () => db.dataSource.getRepository(Thread);
  const replies = () => db.dataSource.getRepository(Reply);

  /** A thread whose first reply starts a chain of `depth` replies, each answering the one before. */
  async function chain(depth: number): Promise<{ thread: Thread; deepest: Reply }> {
    const thread = await threads().save(threads().create({ title: "t", replies: [{ text: "r1" }] }));
    let parent = thread.replies[0];
    for (let level = 2; level <= depth; level++) {
      parent = await replies().save(replies().create({ text: `r${level}`, parent: { id: parent.id } }));
    }
    return { thread: await threads().findOneByOrFail({ id: thread.id }), deepest: parent };
  }

  it(`reproduction: a reply ${DEPTH} levels deep moves the thread's version`, async () => {
    const { thread, deepest } = await chain(DEPTH);
    expect(thread.version).toBe(DEPTH); // every reply inserted moved it
    await replies().save(replies().create({ text: "deeper", parent: { id: deepest.id } }));
    expect((await threads().findOneByOrFail({ id: thread.id })).version).toBe(DEPTH + 1);
  });

  it("resolves the whole chain in one statement, not one per level", async () => {
    const { thread, deepest } = await chain(40);
    const statements = await db.log.capture(() => replies().save(replies().create({ text: "deeper", parent: { id: deepest.id } })));
    const reads = statements.filter((sql) => /^\s*(WITH|SELECT)\b/i.test(sql));
    // The recursive chain, and the version read back after an unchecked move; on MariaDB also the
    // chain's rows read once more under the root's lock (one statement: its snapshot read is not the latest).
    expect(reads.length).toBeLessThanOrEqual(driver === "mariadb" ? 3 : 2);
    expect(reads.some((sql) => /^\s*WITH RECURSIVE/i.test(sql))).toBe(true);
    expect((await threads().findOneByOrFail({ id: thread.id })).version).toBe(41);
  });

  it("refuses a deep member loaded on its own; with uncheckedMemberWrite() it still moves the root", async () => {
    const { thread, deepest } = await chain(10);
    const loaded = await replies().findOneOrFail({ where: { id: deepest.id } });
    loaded.text = "edited alone";
    await expect(replies().save(loaded)).rejects.toMatchObject({ name: "UnguardedWriteError" });
    await replies().save(loaded, uncheckedMemberWrite());
    expect((await threads().findOneByOrFail({ id: thread.id })).version).toBe(11);
  });

  it("ends at a cycle in the data instead of looping", async () => {
    const [a, b] = await replies().save([replies().create({ text: "a" }), replies().create({ text: "b" })]);
    await db.dataSource.query(`UPDATE reply SET ${db.dataSource.driver.escape("parentId")} = ${Number(b.id)} WHERE id = ${Number(a.id)}`);
    await db.dataSource.query(`UPDATE reply SET ${db.dataSource.driver.escape("parentId")} = ${Number(a.id)} WHERE id = ${Number(b.id)}`);
    // In no aggregate (no thread above the cycle): nothing to move, nothing to refuse.
    await replies().save(replies().create({ text: "answer", parent: { id: a.id } }));
    expect(await replies().countBy({ text: "answer" })).toBe(1);
  });
});
