import { And, Between, Equal, In, LessThanOrEqual, Like, MoreThan, Not, Raw, type FindOptionsWhere } from "typeorm";
import { InvalidVersionError, InvalidArgumentError, increment, updateIf } from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { eachDriver } from "../support/each-driver";
import { Account, writeEntities } from "../writes/support/entities";

/**
 * Issue 14, section 3: updateIf validated a plain version in `where` but let one wrapped in a find
 * operator through unchecked: `Equal("1")` and `In(["1"])` matched and wrote (a string version from
 * a request, never parsed), `Equal(NaN)` reached the SQL text on MariaDB. The values inside the
 * operators that compare the version are checked like a plain version (InvalidVersionError); the
 * operators that compare it with something else (Raw, Like, …) are refused (InvalidArgumentError; UnguardedWriteError before issue 17).
 * Either way before anything is sent.
 */
eachDriver(undefined, { mariadb: true })("updateIf with the version inside a find operator on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: writeEntities });
  });
  afterAll(async () => db?.close());

  const accounts = () => db.dataSource.getRepository(Account);
  const version = (criterion: unknown) => criterion as FindOptionsWhere<Account>["version"];

  async function refusedWith(id: number, criterion: unknown, type: Function): Promise<void> {
    const statements = await db.log.capture(() =>
      expect(updateIf(accounts(), { id, version: version(criterion) }, { balance: increment(1) })).rejects.toBeInstanceOf(type),
    );
    expect(statements).toEqual([]);
    expect(await accounts().findOneByOrFail({ id })).toMatchObject({ balance: 10, version: 1 });
  }

  it.each([
    ['Equal("1")', Equal("1")],
    ['In(["1"])', In(["1"])],
    ['In([1, "1"])', In([1, "1"])],
    ["Equal(1.5)", Equal(1.5)],
    ["Equal(NaN)", Equal(NaN)],
    ['LessThanOrEqual("1e0")', LessThanOrEqual("1e0")],
    ['Not(Equal("0"))', Not(Equal("0"))],
    ['Not("0")', Not("0")],
    ['Between(0, "9")', Between(0, "9" as unknown as number)],
    ["And(MoreThan(0), LessThanOrEqual(-1))", And(MoreThan(0), LessThanOrEqual(-1))],
    ['And(MoreThan("0"))', And(MoreThan("0" as unknown as number))],
    ["Equal(2 ** 60)", Equal(2 ** 60)],
  ])("reproduction: %s is refused with InvalidVersionError, nothing sent", async (_name, criterion) => {
    const { id } = await accounts().save({ owner: "ada", balance: 10 });
    await refusedWith(id, criterion, InvalidVersionError);
  });

  it.each([
    ["Raw", Raw((column) => `${column} = 1`)],
    ["Like", Like("1")],
    ["Not(Like)", Not(Like("1"))],
    [
      "And(Equal, Raw)",
      And(
        Equal(1),
        Raw((column) => `${column} = 1`),
      ),
    ],
  ])("refuses %s on the version with InvalidArgumentError: its value cannot be checked as a version", async (_name, criterion) => {
    const { id } = await accounts().save({ owner: "ada", balance: 10 });
    const error = await updateIf(accounts(), { id, version: version(criterion) }, { balance: increment(1) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toMatch(/compare the version with a number/);
    await refusedWith(id, criterion, InvalidArgumentError);
  });

  it("still writes with operators of valid versions", async () => {
    const { id } = await accounts().save({ owner: "ada", balance: 10 });
    await updateIf(accounts(), { id, version: Equal(1) }, { balance: increment(1) });
    await updateIf(accounts(), { id, version: In([1, 2]) }, { balance: increment(1) });
    await updateIf(accounts(), { id, version: Not(Equal(0)) }, { balance: increment(1) });
    await updateIf(accounts(), { id, version: And(MoreThan(0), LessThanOrEqual(4)) }, { balance: increment(1) });
    await updateIf(accounts(), { id, version: Between(4, 5) }, { balance: increment(1) });
    expect(await accounts().findOneByOrFail({ id })).toMatchObject({ balance: 15, version: 6 });
  });
});
