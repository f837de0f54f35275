import { execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Client } from "pg";
import { enabledDrivers } from "../support/drivers";

/**
 * `npm run example` and `npm run example:api` as a user runs them: compiled by
 * scripts/run-example.mjs, on a fresh database every run, never touching a schema they did not make.
 */
const root = join(__dirname, "../..");
const run = promisify(execFile);
/** The SQLite files go to a temp directory of this test's own, not the user's examples folder. */
const ownTmp = mkdtempSync(join(tmpdir(), "typeorm-occ-run-examples-"));
afterAll(() => rmSync(ownTmp, { recursive: true, force: true }));

function exampleEnv(databaseUrl: string | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: ownTmp };
  delete env.DATABASE_URL;
  if (databaseUrl) env.DATABASE_URL = databaseUrl;
  return env;
}

const runWallet = (databaseUrl?: string) => run("npm", ["run", "--silent", "example"], { cwd: root, env: exampleEnv(databaseUrl) });

function postgresUrl(): string {
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
  const password = process.env.PGPASSWORD ? `:${encodeURIComponent(process.env.PGPASSWORD)}` : "";
  return `postgres://${process.env.PGUSER ?? "postgres"}${password}@${process.env.PGHOST ?? "127.0.0.1"}:${process.env.PGPORT ?? 5432}/${process.env.PGDATABASE ?? "test"}`;
}

/** Both runs tell README's story from the start: wallet #1, the stale save refused, nothing lost. */
function expectReadmeStory(stdout: string): void {
  expect(stdout).toContain("1. A shared wallet #1 is opened with €100.00 (version 1).");
  expect(stdout).toContain("refused with StaleDataError: Wallet#1 is stale: expected version 1, found 2 (update)");
  expect(stdout).toContain("withdrawal was refused by the database");
  expect(stdout).toContain("nothing was lost");
  expect(stdout).not.toMatch(/wallet #[2-9]/);
}

describe("npm run example (the wallet)", () => {
  it("tells README's story on a new SQLite file, the same on every run", async () => {
    for (let i = 0; i < 2; i++) {
      const { stdout } = await runWallet();
      expect(stdout).toContain(`on a new SQLite file, ${join(ownTmp, "typeorm-occ-examples", "wallet.sqlite")} (made afresh on every run)`);
      expectReadmeStory(stdout);
    }
  }, 240_000);

  if (enabledDrivers().includes("postgres")) {
    it("runs in its own PostgreSQL schema, and leaves a schema of that name it did not create alone", async () => {
      const client = new Client({ connectionString: postgresUrl() });
      await client.connect();
      try {
        await client.query("DROP SCHEMA IF EXISTS typeorm_occ_example_wallet CASCADE");
        await client.query("CREATE SCHEMA typeorm_occ_example_wallet");
        await client.query("CREATE TABLE typeorm_occ_example_wallet.wallet (mine integer)");
        await client.query("INSERT INTO typeorm_occ_example_wallet.wallet VALUES (42)");
        const refused = await runWallet(postgresUrl()).then(
          () => undefined,
          (error: { code?: number; stderr?: string }) => error,
        );
        expect(refused?.code).toBe(1);
        expect(refused?.stderr).toContain('the schema "typeorm_occ_example_wallet" exists and was not created by a typeorm-occ example');
        expect((await client.query("SELECT mine FROM typeorm_occ_example_wallet.wallet")).rows).toEqual([{ mine: 42 }]);

        await client.query("DROP SCHEMA typeorm_occ_example_wallet CASCADE");
        for (let i = 0; i < 2; i++) {
          const { stdout } = await runWallet(postgresUrl());
          expect(stdout).toContain('in the schema "typeorm_occ_example_wallet" (made afresh on every run');
          expectReadmeStory(stdout);
        }
        const tables = await client.query(
          "SELECT table_name FROM information_schema.tables WHERE table_schema = 'typeorm_occ_example_wallet' ORDER BY 1",
        );
        expect(tables.rows.map((row: { table_name: string }) => row.table_name)).toEqual(["deposit", "wallet"]);
      } finally {
        await client.query("DROP SCHEMA IF EXISTS typeorm_occ_example_wallet CASCADE");
        await client.end();
      }
    }, 240_000);
  }

  if (enabledDrivers({ mariadb: true }).includes("mariadb")) {
    it("runs in its own MariaDB database, the same on every run", async () => {
      for (let i = 0; i < 2; i++) {
        const { stdout } = await runWallet(process.env.MARIADB_URL);
        expect(stdout).toContain('in the database "typeorm_occ_example_wallet" (made afresh on every run');
        expectReadmeStory(stdout);
      }
    }, 240_000);
  }
});

describe("npm run example:api (the orders API)", () => {
  it('starts on an empty database, so README\'s first order is order 1 with ETag "1"', async () => {
    for (let i = 0; i < 2; i++) {
      const child = spawn(process.execPath, [join(root, "scripts/run-example.mjs"), "orders-api"], {
        cwd: root,
        env: { ...exampleEnv(undefined), PORT: "0" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      try {
        const base = await new Promise<string>((resolve, reject) => {
          let out = "";
          child.stdout.on("data", (chunk: Buffer) => {
            out += chunk.toString();
            const listening = /orders API on (http:\/\/127\.0\.0\.1:\d+), data in a new SQLite file/.exec(out);
            if (listening) resolve(listening[1]);
          });
          child.once("exit", (code) => reject(new Error(`the API exited (${code}) before listening: ${out}`)));
        });
        const created = await fetch(`${base}/orders`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ customer: "Ada", lines: [{ sku: "PEN-1", quantity: 2, unitPriceCents: 150 }] }),
        });
        expect(created.status).toBe(201);
        expect(created.headers.get("etag")).toBe('"1"');
        expect(await created.json()).toMatchObject({ id: 1, version: 1 });
      } finally {
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise((resolve) => child.once("exit", resolve));
          child.kill("SIGTERM");
          await exited;
        }
      }
    }
  }, 240_000);
});
