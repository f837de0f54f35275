import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { enabledDrivers } from "../support/drivers";
import { Account, Address, Profile, shapeEntities } from "./support/shapes";

/**
 * Adversary finding (a false refusal, not a lost update): a one-to-one member whose root holds the
 * foreign key (`Account.address`, `@OneToOne(…, { cascade: true }) @JoinColumn()`), loaded with its
 * root exactly as the README and the error message say (`relations: { account: true }`), and saved on
 * its own, is refused with UnguardedWriteError — even with a fresh root — whose advice
 * ("Load it with its root (e.g. relations: { … })") is what the caller did. A member that holds the
 * key (`Profile.account`) loaded the same way is checked as documented.
 * Promise: a member loaded with its root is checked against it; a refusal says what to do instead.
 * Likely cause: src/aggregate/loaded-with.ts (recordAbove) and write-plan.ts (rootAbove) follow
 * "member-holds-key" links only; a "parent-holds-key" link loaded from the member side is never
 * recorded, and rootRelationHint() in member-guard.ts has no path to print for it.
 */
describe.each(enabledDrivers({ mariadb: true }))("a one-to-one member loaded with its root on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: shapeEntities });
  });
  afterAll(async () => db?.close());

  const accounts = () => db.dataSource.getRepository(Account);

  async function newAccount(): Promise<Account> {
    return accounts().save(accounts().create({ name: "ada", address: { street: "Main St 1" }, profile: { bio: "hi" } }));
  }

  it("where the root holds the key: saved on its own, checked against that root", async () => {
    const account = await newAccount();
    const address = await db.dataSource
      .getRepository(Address)
      .findOneOrFail({ where: { id: account.address!.id }, relations: { account: true } });
    address.street = "Main St 2";
    await db.dataSource.getRepository(Address).save(address);
    expect((await accounts().findOneByOrFail({ id: account.id })).version).toBe(2);
  });

  it("control: where the member holds the key, it is checked as documented", async () => {
    const account = await newAccount();
    const profile = await db.dataSource
      .getRepository(Profile)
      .findOneOrFail({ where: { id: account.profile!.id }, relations: { account: true } });
    profile.bio = "hello";
    await db.dataSource.getRepository(Profile).save(profile);
    expect((await accounts().findOneByOrFail({ id: account.id })).version).toBe(2);
  });
});
