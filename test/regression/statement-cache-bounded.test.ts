import { updateVersioned } from "typeorm-occ";
import { cachedStatementCount, STATEMENTS_PER_ENTITY } from "../../src/writes/versioned-statement";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { eachDriver } from "../support/each-driver";
import { Account, writeEntities } from "../writes/support/entities";

/**
 * Issue 14, section 3: updateVersioned's statement cache kept one text per change shape forever,
 * and the SQL of a raw function value is part of the shape: 20,000 calls with `() => "balance + n"`
 * for varying n kept 15.7 MB. It keeps at most STATEMENTS_PER_ENTITY texts per entity now, least
 * recently used dropped.
 */
eachDriver(undefined, { mariadb: true })("updateVersioned's statement cache on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: writeEntities });
  });
  afterAll(async () => db?.close());

  const accounts = () => db.dataSource.getRepository(Account);

  it("reproduction: raw SQL that varies per call keeps the cache at its bound, and every call still writes", async () => {
    const { id } = await accounts().save({ owner: "ada", balance: 0 });
    const calls = STATEMENTS_PER_ENTITY * 3;
    let version = 1;
    for (let n = 1; n <= calls; n++) {
      ({ version } = await updateVersioned(accounts(), { id, version }, { balance: () => `balance + ${n}` }));
      expect(cachedStatementCount(accounts().metadata)).toBeLessThanOrEqual(STATEMENTS_PER_ENTITY);
    }
    expect(cachedStatementCount(accounts().metadata)).toBe(STATEMENTS_PER_ENTITY);
    expect(await accounts().findOneByOrFail({ id })).toMatchObject({ balance: (calls * (calls + 1)) / 2, version: calls + 1 });
  });

  it("a shape dropped from the cache is built again and writes as before", async () => {
    const { id } = await accounts().save({ owner: "grace", balance: 0 });
    let version = 1;
    const hot = async () => ({ version } = await updateVersioned(accounts(), { id, version }, { owner: "hot" }));
    await hot();
    for (let n = 0; n < STATEMENTS_PER_ENTITY * 2; n++) {
      ({ version } = await updateVersioned(accounts(), { id, version }, { balance: () => `${n}` }));
      await hot();
    }
    // The first raw shape was dropped long ago.
    ({ version } = await updateVersioned(accounts(), { id, version }, { balance: () => "0" }));
    expect(await accounts().findOneByOrFail({ id })).toMatchObject({ owner: "hot", balance: 0, version });
  });
});
