/**
 * Child process of scenario 5: inserts `count` rows into a fresh SQLite file (save(), in batches),
 * loads them all back with find() — copies TypeORM loaded, so typeorm-occ keeps its per-copy state for
 * each — changes one column of each and save()s them in batches, then prints its peak RSS as JSON.
 * One process per variant, so peaks don't mix. The plain variant never loads typeorm-occ: it is TypeORM alone.
 *
 * Usage: node dist/bench/memory-child.js <plain|occ> <count> <batch>
 */
import "reflect-metadata";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DataSource } from "typeorm";

async function main(): Promise<void> {
  const [variant, countArg, batchArg] = process.argv.slice(2);
  const count = Number(countArg);
  const batch = Number(batchArg);
  // Load only the variant's entities: requiring "./entities/occ" is what installs typeorm-occ.
  const entity =
    variant === "occ"
      ? (require("./entities/occ") as typeof import("./entities/occ")).OccItem
      : (require("./entities/plain") as typeof import("./entities/plain")).PlainItem;

  const dir = mkdtempSync(join(tmpdir(), "typeorm-occ-bench-mem-"));
  const dataSource = new DataSource({
    type: "better-sqlite3",
    database: join(dir, "mem.sqlite"),
    enableWAL: true,
    synchronize: true,
    entities: [entity],
  });
  await dataSource.initialize();
  const baseline = process.memoryUsage().rss;
  const start = process.hrtime.bigint();
  try {
    const repository = dataSource.getRepository<{ id: number; name: string; counter: number; version: number }>(entity);
    for (let done = 0; done < count; done += batch) {
      await repository.save(
        Array.from({ length: Math.min(batch, count - done) }, (_, index) => repository.create({ name: `n${done + index}`, counter: 0 })),
      );
    }
    const loaded = await repository.find();
    if (loaded.length !== count) throw new Error(`find() returned ${loaded.length} rows, expected ${count}`);
    for (const row of loaded) row.counter++;
    for (let done = 0; done < count; done += batch) await repository.save(loaded.slice(done, done + batch));
  } finally {
    await dataSource.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const vmHwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
  process.stdout.write(
    JSON.stringify({
      maxRssKiB: process.resourceUsage().maxRSS,
      vmHwmKiB: vmHwm ? Number(vmHwm) : undefined,
      baselineKiB: Math.round(baseline / 1024),
      seconds,
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
