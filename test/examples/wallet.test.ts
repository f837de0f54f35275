import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { Wallet } from "../../examples/wallet/wallet.entity";
import { runWalletStory } from "../../examples/wallet/story";
import { InsufficientFundsError, decrease, increase } from "../../examples/wallet/wallet-operations";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { enabledDrivers } from "../support/drivers";

describe.each(enabledDrivers())("wallet example on %s", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: [Wallet] });
  });
  afterAll(async () => db?.close());

  it("tells the lost-update story and loses nothing", async () => {
    const lines: string[] = [];
    const result = await runWalletStory(db.dataSource, (line) => lines.push(line));

    expect(result.staleMessage).toBe(`Wallet#${result.walletId} is stale: expected version 1, found 2 (update)`);
    expect(result.retries).toBe(1);
    expect(result.finalBalance).toBe(145_00);
    expect(result.expectedBalance).toBe(145_00);
    expect(result.finalVersion).toBe(5);
    expect(lines.join("\n")).toContain("refused with StaleDataError");
    expect(lines.at(-1)).toContain("nothing was lost");
    const stored = await db.dataSource.getRepository(Wallet).findOneByOrFail({ id: result.walletId });
    expect(stored).toMatchObject({ balance: 145_00, version: 5 });
  });
});

describe("wallet operations", () => {
  const wallet = () => Object.assign(new Wallet(), { id: 7, owner: "x", currency: "EUR", balance: 10_00, version: 1 });

  it("increases and decreases in whole cents", () => {
    expect(decrease(increase(wallet(), 5_00), 15_00).balance).toBe(0);
  });

  it("refuses to go negative with a typed domain error, leaving the balance alone", () => {
    const w = wallet();
    expect(() => decrease(w, 10_01)).toThrow(InsufficientFundsError);
    expect(w.balance).toBe(10_00);
  });

  it.each([0, -1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1])("rejects amount %p", (amount) => {
    expect(() => increase(wallet(), amount)).toThrow(RangeError);
    expect(() => decrease(wallet(), amount)).toThrow(RangeError);
  });
});

describe("npm run example (compiled, on SQLite)", () => {
  it("prints the story and exits 0", async () => {
    const run = promisify(execFile);
    await run("npx", ["tsc", "-p", "tsconfig.json"], { cwd: process.cwd() });
    const env = { ...process.env };
    delete env.DATABASE_URL; // the default: an embedded SQLite file
    const { stdout } = await run(process.execPath, ["dist/examples/wallet/main.js"], { cwd: process.cwd(), env });
    expect(stdout).toContain("on SQLite file");
    expect(stdout).toMatch(/refused with StaleDataError: Wallet#\d+ is stale: expected version 1, found 2 \(update\)/);
    expect(stdout).toContain("nothing was lost");
  }, 180_000);
});
