import { StaleDataError, UnguardedWriteError, uncheckedMemberWrite } from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { enabledDrivers } from "../support/drivers";
import { Board, Task, guaranteeEntities } from "../support/entities/guarantee";

/**
 * Issue 9, item 1: a member moved to another aggregate changes both aggregates, whichever side of
 * the relation the user wrote (the member's relation, the new parent's collection, or the foreign
 * key column alone). Before the fix the old owner was never bumped, so a writer still holding it
 * put the moved member back silently.
 */
describe.each(enabledDrivers({ mariadb: true }))("moving a member between aggregates on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: guaranteeEntities });
  });
  afterAll(async () => db?.close());

  const boards = () => db.dataSource.getRepository(Board);
  const tasks = () => db.dataSource.getRepository(Task);
  const loadBoard = (id: number) => boards().findOneOrFail({ where: { id }, relations: { tasks: true }, order: { tasks: { id: "ASC" } } });
  const versionOf = async (id: number) => (await boards().findOneByOrFail({ id })).version;

  async function twoBoards(): Promise<{ a: Board; b: Board; taskId: number }> {
    const a = await boards().save(boards().create({ name: "a", tasks: [{ title: "t1" }, { title: "t2" }] }));
    const b = await boards().save(boards().create({ name: "b", tasks: [{ title: "u1" }] }));
    return { a: await loadBoard(a.id), b: await loadBoard(b.id), taskId: a.tasks[0].id };
  }

  it("reproduction: a writer holding the old owner cannot put the moved member back", async () => {
    const { a, b, taskId } = await twoBoards();
    const holderOfA = await loadBoard(a.id); // X, still holding A at version 1

    const task = await tasks().findOneOrFail({ where: { id: taskId }, relations: { board: true } }); // Y
    task.board = b;
    await tasks().save(task);
    expect(await versionOf(a.id)).toBe(2);
    expect(await versionOf(b.id)).toBe(2);

    holderOfA.tasks.find((candidate) => candidate.id === taskId)!.title = "edited by X";
    const error = await boards()
      .save(holderOfA)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StaleDataError);
    expect(error).toMatchObject({ entityName: "Board", primaryKey: { id: a.id }, expectedVersion: 1, actualVersion: 2 });
    expect(await tasks().findOneByOrFail({ id: taskId })).toMatchObject({ boardId: b.id, title: "t1" });
  });

  it("moves both versions when the member's relation is reassigned", async () => {
    const { a, b, taskId } = await twoBoards();
    const task = a.tasks.find((candidate) => candidate.id === taskId)!; // loaded inside A
    task.board = b;
    await tasks().save(task);
    expect([await versionOf(a.id), await versionOf(b.id)]).toEqual([2, 2]);
    expect(a.version).toBe(2); // the copy it was loaded with moved too
    expect(b.version).toBe(2);
  });

  it("moves both versions when the member is pushed into the new parent's collection", async () => {
    const { a, b, taskId } = await twoBoards();
    b.tasks.push(a.tasks.find((candidate) => candidate.id === taskId)!);
    await boards().save(b);
    expect([await versionOf(a.id), await versionOf(b.id)]).toEqual([2, 2]);
    expect((await tasks().findOneByOrFail({ id: taskId })).boardId).toBe(b.id);
  });

  it("moves both versions when only the foreign-key column is set", async () => {
    const { a, b, taskId } = await twoBoards();
    const task = a.tasks.find((candidate) => candidate.id === taskId)!;
    task.boardId = b.id;
    await tasks().save(task);
    expect([await versionOf(a.id), await versionOf(b.id)]).toEqual([2, 2]);
    expect((await tasks().findOneByOrFail({ id: taskId })).boardId).toBe(b.id);
  });

  it("checks the old owner: a move based on an outdated read of it is refused and writes nothing", async () => {
    const { a, b, taskId } = await twoBoards();
    const staleTask = a.tasks.find((candidate) => candidate.id === taskId)!;
    const fresh = await loadBoard(a.id);
    fresh.name = "renamed meanwhile";
    await boards().save(fresh); // A is at 2 now

    staleTask.board = b;
    await expect(tasks().save(staleTask)).rejects.toMatchObject({ name: "StaleDataError", entityName: "Board", primaryKey: { id: a.id } });
    expect((await tasks().findOneByOrFail({ id: taskId })).boardId).toBe(a.id);
    expect(await versionOf(b.id)).toBe(1);
  });

  it("refuses a move of a member loaded without its owner, unless last-writer-wins is accepted; then both still move", async () => {
    const { a, b, taskId } = await twoBoards();
    const alone = await tasks().findOneByOrFail({ id: taskId });
    alone.boardId = b.id;
    await expect(tasks().save(alone)).rejects.toBeInstanceOf(UnguardedWriteError);
    expect((await tasks().findOneByOrFail({ id: taskId })).boardId).toBe(a.id);

    await tasks().save(alone, uncheckedMemberWrite());
    expect([await versionOf(a.id), await versionOf(b.id)]).toEqual([2, 2]);
  });

  it("moves the old owner when a member leaves every aggregate, and the new one when it joins", async () => {
    const { a, taskId } = await twoBoards();
    const task = a.tasks.find((candidate) => candidate.id === taskId)!;
    task.board = null;
    await tasks().save(task);
    expect(await versionOf(a.id)).toBe(2);

    const orphan = await tasks().findOneByOrFail({ id: taskId }); // in no aggregate: nothing guards it, nothing to refuse
    const c = await boards().save(boards().create({ name: "c", tasks: [] }));
    orphan.boardId = c.id;
    await tasks().save(orphan);
    expect(await versionOf(c.id)).toBe(2);
    expect(await versionOf(a.id)).toBe(2);
  });
});
