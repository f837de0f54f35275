import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";

/**
 * The package as users get it: `npm pack` from a copy of the sources (prepack builds dist), the
 * tarball unpacked into fresh consumer projects, and the consumer in consumer/ typechecked with
 * `skipLibCheck: false` and run, under every module setup TypeScript users have. Offline: the
 * consumers link the packages this project already installed instead of installing them again.
 */
const root = join(__dirname, "../..");
const run = promisify(execFile);
const tsc = join(root, "node_modules/typescript/bin/tsc");
const offline = {
  ...process.env,
  npm_config_offline: "true",
  npm_config_update_notifier: "false",
  npm_config_fund: "false",
  npm_config_audit: "false",
};

/** What a consumer project lists as dependencies besides typeorm-occ; all linked from this project's node_modules. */
const CONSUMER_DEPENDENCIES = [
  "typeorm",
  "reflect-metadata",
  "better-sqlite3",
  "@nestjs/common",
  "@nestjs/core",
  "@nestjs/platform-express",
  "rxjs",
  "@types/node",
];

interface Variant {
  name: string;
  type: "commonjs" | "module";
  compilerOptions: Record<string, string>;
  /** Whether the Nest consumer is part of it. */
  nest: boolean;
  /** Installs this Nest major from the registry instead of linking the project's (opt-in, needs the network). */
  nestMajor?: string;
}

const VARIANTS: Variant[] = [
  { name: "node10, CommonJS", type: "commonjs", compilerOptions: { module: "commonjs", moduleResolution: "node10" }, nest: true },
  // Nest 12 is ES modules only, and TypeScript's node16 mode forbids require() of ES modules (TS1479):
  // such a project cannot import Nest 12 itself, whatever typeorm-occ does. nodenext (or node20) can.
  { name: "node16, CommonJS", type: "commonjs", compilerOptions: { module: "node16", moduleResolution: "node16" }, nest: false },
  { name: "nodenext, CommonJS", type: "commonjs", compilerOptions: { module: "nodenext", moduleResolution: "nodenext" }, nest: true },
  { name: "nodenext, ESM", type: "module", compilerOptions: { module: "nodenext", moduleResolution: "nodenext" }, nest: true },
  { name: "bundler, ESM", type: "module", compilerOptions: { module: "esnext", moduleResolution: "bundler" }, nest: true },
];
// Older Nest majors (CommonJS) on demand: OCC_NEST_MAJORS=10,11 (`npm run test:nest-majors`).
for (const major of process.env.OCC_NEST_MAJORS?.split(",").filter(Boolean) ?? []) {
  VARIANTS.push({ ...VARIANTS[0], name: `Nest ${major}, node10, CommonJS`, nestMajor: major });
}
const consumerFiles = (variant: Variant) => [
  "note.ts",
  "core.ts",
  "newcomer-mistakes.ts",
  ...(variant.nest ? ["nest.ts"] : []),
  README_ENTRY,
];
/** The README's "Installing and wiring" entry file, taken from the packed README. */
const README_ENTRY = "readme-main.ts";

interface ConsumerRun {
  tscOutput: string;
  core: unknown;
  mistakes?: unknown;
  nest?: unknown;
  readme?: string;
}

let work: string;
/** The tarball's contents, unpacked once; every consumer gets a copy in its node_modules. */
let unpacked: string;
let packedFiles: string[];
/** Each variant's typecheck and runs, started together once the package is packed. */
const consumerRuns = new Map<string, Promise<ConsumerRun>>();

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "typeorm-occ-pack-"));
  // A clean checkout's files only (no dist): prepack must build what gets packed.
  const source = join(work, "source");
  for (const entry of [
    "package.json",
    "README.md",
    "CHANGELOG.md",
    "LICENSE",
    "tsconfig.json",
    "tsconfig.build.json",
    "src",
    "decorators",
    "docs",
  ]) {
    if (existsSync(join(root, entry))) cpSync(join(root, entry), join(source, entry), { recursive: true });
  }
  symlinkSync(join(root, "node_modules"), join(source, "node_modules"), "dir");
  const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", work], { cwd: source, env: offline });
  const [packed] = JSON.parse(stdout.slice(stdout.indexOf("["))) as Array<{ filename: string; files: Array<{ path: string }> }>;
  packedFiles = packed.files.map((file) => file.path).sort();
  unpacked = join(work, "unpacked");
  mkdirSync(unpacked);
  await run("tar", ["-xzf", join(work, packed.filename), "-C", unpacked, "--strip-components=1"]);

  // Two at a time: typechecking is CPU-bound and the machine has two cores.
  const inTurn = limitedTo(2);
  for (const variant of VARIANTS) {
    const result = inTurn(() => runConsumer(variant));
    result.catch(() => undefined); // reported by the variant's own test
    consumerRuns.set(variant.name, result);
  }
}, 240_000);

afterAll(async () => {
  await Promise.allSettled(consumerRuns.values());
  if (work) rmSync(work, { recursive: true, force: true });
});

function limitedTo(slots: number) {
  const waiting: Array<() => void> = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (slots === 0) await new Promise<void>((resolve) => waiting.push(resolve));
    else slots--;
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else slots++;
    }
  };
}

/** A fresh project with the unpacked package in node_modules: typechecked, then each consumer run with node. */
async function runConsumer(variant: Variant): Promise<ConsumerRun> {
  const project = join(work, variant.name.replace(/\W+/g, "-"));
  const modules = join(project, "node_modules");
  const installed: string[] = [];
  if (variant.nestMajor) {
    installed.push("@nestjs/common", "@nestjs/core", "@nestjs/platform-express", "rxjs", "reflect-metadata");
    const range = `^${variant.nestMajor}.0.0`;
    mkdirSync(project);
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true }));
    const specs = installed.map((name) => (name.startsWith("@nestjs/") ? `${name}@${range}` : name));
    await run("npm", ["install", "--no-audit", "--no-fund", "--ignore-scripts", ...specs], { cwd: project });
  }
  cpSync(unpacked, join(modules, "typeorm-occ"), { recursive: true });
  for (const dependency of CONSUMER_DEPENDENCIES.filter((name) => !installed.includes(name))) {
    mkdirSync(dirname(join(modules, dependency)), { recursive: true });
    symlinkSync(join(root, "node_modules", dependency), join(modules, dependency), "dir");
  }
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: variant.type }));
  const compilerOptions = {
    ...variant.compilerOptions,
    target: "ES2022",
    lib: ["ES2022"],
    strict: true,
    skipLibCheck: false,
    experimentalDecorators: true,
    emitDecoratorMetadata: true,
    types: ["node"],
    outDir: "out",
    rootDir: "src",
  };
  const files = consumerFiles(variant);
  writeFileSync(join(project, "tsconfig.json"), JSON.stringify({ compilerOptions, files: files.map((file) => `src/${file}`) }));
  mkdirSync(join(project, "src"));
  for (const file of files.filter((name) => name !== README_ENTRY)) cpSync(join(__dirname, "consumer", file), join(project, "src", file));
  const readme = readFileSync(join(unpacked, "README.md"), "utf8");
  const entry = [...readme.matchAll(/```ts\n(\/\/ main\.ts\n[\s\S]*?)```/g)].map((match) => match[1]);
  if (entry.length !== 1) throw new Error(`the packed README has ${entry.length} "// main.ts" snippets, expected 1`);
  writeFileSync(join(project, "src", README_ENTRY), entry[0]);

  const tscOutput = await run(process.execPath, [tsc, "-p", "."], { cwd: project }).then(
    ({ stdout }) => stdout,
    (error: { stdout?: string }) => `tsc failed:\n${error.stdout}`,
  );
  if (tscOutput !== "") return { tscOutput, core: undefined };
  const runJson = async (file: string) => JSON.parse((await run(process.execPath, [file], { cwd: project })).stdout) as unknown;
  return {
    tscOutput,
    core: await runJson("out/core.js"),
    mistakes: await runJson("out/newcomer-mistakes.js"),
    nest: variant.nest ? await runJson("out/nest.js") : undefined,
    readme: (await run(process.execPath, [`out/${README_ENTRY.replace(/ts$/, "js")}`], { cwd: project })).stdout,
  };
}

describe("the packed tarball", () => {
  it("holds the built entry points, their types, LICENSE, README, CHANGELOG and docs/, and nothing else", () => {
    for (const file of [
      "LICENSE",
      "README.md",
      "CHANGELOG.md",
      "package.json",
      "dist/src/index.js",
      "dist/src/index.d.ts",
      "dist/src/http/index.d.ts",
      "dist/src/nest/index.d.ts",
      "dist/decorators/index.js",
    ]) {
      expect(packedFiles).toContain(file);
    }
    const unexpected = packedFiles.filter(
      (file) => !/^(LICENSE|README\.md|CHANGELOG\.md|package\.json|docs\/.+\.md|dist\/(src|decorators)\/.+\.(js|d\.ts))$/.test(file),
    );
    if (existsSync(join(root, "docs"))) expect(packedFiles.filter((file) => file.startsWith("docs/")).length).toBeGreaterThan(0);
    expect(unexpected).toEqual([]); // no source maps pointing at unshipped sources, no tests, no tsbuildinfo
    const pointingAtMaps = packedFiles.filter((file) => readFileSync(join(unpacked, file), "utf8").includes("sourceMappingURL"));
    expect(pointingAtMaps).toEqual([]);
  });
});

describe.each(VARIANTS)("a consumer project ($name)", (variant) => {
  it("typechecks against the published .d.ts with skipLibCheck: false, and runs", async () => {
    const result = await consumerRuns.get(variant.name)!;
    expect(result.tscOutput).toBe("");
    expect(result.core).toEqual({
      stale: "Note#1 is stale: expected version 1, found 2 (update)",
      code: "stale-data",
      problem: 412,
      final: { text: "retried", version: 3 },
    });
    expect(result.readme).toBe("Account#1 is stale: expected version 1, found 2 (update)\n");
    expect(result.mistakes).toEqual({
      warnings: ["typeorm-version-column", "uncascaded-member"],
      withoutId: "InvalidArgumentError invalid-argument",
      withoutVersion: "MissingVersionError missing-version",
      stale: [7, 1],
    });
    if (!variant.nest) return;
    expect(result.nest).toEqual({
      stale: [412, "application/problem+json", "stale-data"],
      missing: 428,
      fresh: [200, { etag: '"3"' }],
      final: { text: "over http", version: 3 },
    });
  }, 300_000);
});

describe("typeorm-occ/nest in a project without Nest", () => {
  it("throws MissingPeerDependencyError naming what to install, not Node's bare module error", async () => {
    const project = join(work, "without-nest");
    const modules = join(project, "node_modules");
    cpSync(unpacked, join(modules, "typeorm-occ"), { recursive: true });
    for (const dependency of ["typeorm", "reflect-metadata"])
      symlinkSync(join(root, "node_modules", dependency), join(modules, dependency), "dir");
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true }));
    const script = `try { require("typeorm-occ/nest"); console.log("loaded"); } catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message, ours: e instanceof require("typeorm-occ").MissingPeerDependencyError })); }`;
    const { stdout } = await run(process.execPath, ["-e", script], { cwd: project });
    expect(JSON.parse(stdout)).toEqual({
      name: "MissingPeerDependencyError",
      code: "missing-peer-dependency",
      // NestJS 12 needs Node 22: on Node 20 the install line names 11.
      message: `typeorm-occ/nest needs @nestjs/common, @nestjs/core, rxjs, which are not installed: npm install ${
        Number(process.versions.node.split(".")[0]) < 22 ? "@nestjs/common@11 @nestjs/core@11" : "@nestjs/common @nestjs/core"
      } rxjs`,
      ours: true,
    });
  });
});

describe("the packed package's dependencies", () => {
  /** Every package a shipped .js file requires, with the folders it is required from. */
  const requiredPackages = () => {
    const found = new Map<string, Set<string>>();
    for (const file of packedFiles.filter((path) => path.endsWith(".js"))) {
      for (const [, specifier] of readFileSync(join(unpacked, file), "utf8").matchAll(/require\("([^"]+)"\)/g)) {
        if (specifier.startsWith(".") || specifier.startsWith("node:")) continue;
        const name = specifier
          .split("/")
          .slice(0, specifier.startsWith("@") ? 2 : 1)
          .join("/");
        if (!found.has(name)) found.set(name, new Set());
        found.get(name)!.add(dirname(file));
      }
    }
    return found;
  };

  it("are all peers; the ones only typeorm-occ/nest loads are optional", () => {
    const manifest = JSON.parse(readFileSync(join(unpacked, "package.json"), "utf8")) as Record<string, Record<string, any>>;
    expect(manifest.dependencies ?? {}).toEqual({});
    const required = requiredPackages();
    // reflect-metadata is a peer without a require(): the decorators read the global Reflect.getMetadata it installs.
    expect(Object.keys(manifest.peerDependencies)).toEqual(expect.arrayContaining([...required.keys()]));
    for (const [name, folders] of required) {
      const onlyNest = [...folders].every((folder) => folder === "dist/src/nest");
      expect([name, manifest.peerDependenciesMeta?.[name]?.optional === true]).toEqual([name, onlyNest]);
    }
  });
});
