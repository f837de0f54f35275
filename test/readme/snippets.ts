import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";
import type { DataSourceOptions, Logger } from "typeorm";

/**
 * Runs the ```ts snippets of README.md and docs/*.md as written: compiled like the project (decorator
 * metadata on), each with the free variables the text around it introduces, printing into a log the
 * test reads. Each page has one test file under test/readme/ (README.md → readme.test.ts,
 * docs/aggregates.md → aggregates.test.ts) that ends with `page.expectEverySnippetRun()`, so a snippet
 * no test runs fails its page's test. Signatures and other code that is not meant to run use another
 * fence (```ts signature, ```text, ```sh).
 */
const root = join(__dirname, "../..");

/** The pages whose ```ts snippets must run: README.md and every docs/*.md, as paths from the repository root. */
export function documentedPages(): string[] {
  const docs = readdirSync(join(root, "docs"))
    .filter((name) => name.endsWith(".md"))
    .sort()
    .map((name) => `docs/${name}`);
  return ["README.md", ...docs];
}

/** The test file that runs a page's snippets: test/readme/<page name>.test.ts (README.md → readme). */
export function testFileOf(pagePath: string): string {
  const name = pagePath === "README.md" ? "readme" : pagePath.replace(/^docs\//, "").replace(/\.md$/, "");
  return `test/readme/${name}.test.ts`;
}

/** The runnable snippets of a Markdown text: ```ts fences with nothing after the language. */
export function tsSnippets(markdown: string): string[] {
  return [...markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((match) => match[1]);
}

const modules: Record<string, () => unknown> = {
  "typeorm-occ": () => require("../../src/index"),
  "typeorm-occ/http": () => require("../../src/http/index"),
  typeorm: () => recordingTypeorm(),
};

/** The statements each DataSource a snippet builds sends, in order (shared by every DataSource of one run). */
class StatementLog implements Logger {
  readonly statements: string[] = [];
  logQuery(query: string): void {
    this.statements.push(query);
  }
  logQueryError(): void {}
  logQuerySlow(): void {}
  logSchemaBuild(): void {}
  logMigration(): void {}
  log(): void {}
}

let currentLog: StatementLog | undefined;
let typeormShim: unknown;

/**
 * typeorm as a snippet sees it: the same module, but a DataSource the snippet builds without a logger
 * of its own records its statements into the running snippet's log.
 */
function recordingTypeorm(): unknown {
  if (typeormShim) return typeormShim;
  const typeorm = require("typeorm") as typeof import("typeorm");
  class DataSource extends typeorm.DataSource {
    constructor(options: DataSourceOptions) {
      super(options.logger || !currentLog ? options : { ...options, logger: currentLog });
    }
  }
  typeormShim = { ...typeorm, DataSource };
  return typeormShim;
}

const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor as new (
  ...args: string[]
) => (...args: unknown[]) => Promise<unknown>;

export interface Run {
  /** What the snippet printed with console.log, one array of arguments per call. */
  logs: unknown[][];
  /** The value of the `expose` expression, evaluated at the snippet's end. */
  result: any;
  /** Statements sent by DataSources the snippet built itself. */
  statements: string[];
}

export class DocPage {
  readonly snippets: string[];
  private readonly run_ = new Set<number>();
  private readonly elsewhere = new Map<number, string>();

  constructor(readonly path: string) {
    this.snippets = tsSnippets(readFileSync(join(root, path), "utf8"));
  }

  /** The index of the one snippet containing `text`. */
  indexOf(text: string): number {
    const found = this.snippets.flatMap((snippet, index) => (snippet.includes(text) ? [index] : []));
    if (found.length !== 1) throw new Error(`${this.path} has ${found.length} ts snippets containing ${JSON.stringify(text)}, expected 1`);
    return found[0];
  }

  /** The snippet containing `text`. */
  snippet(text: string): string {
    return this.snippets[this.indexOf(text)];
  }

  /** Compiles and runs the snippet containing `text` with `scope` as its free variables. */
  async run(text: string, scope: Record<string, unknown> = {}, expose = "undefined"): Promise<Run> {
    const index = this.indexOf(text);
    this.run_.add(index);
    return runSource(this.snippets[index], scope, expose);
  }

  /** Marks the snippet containing `text` as run by another test, named in `by`. */
  runsElsewhere(text: string, by: string): void {
    this.elsewhere.set(this.indexOf(text), by);
  }

  /** Fails when a ```ts snippet of the page was neither run by this file nor claimed by another test. */
  expectEverySnippetRun(): void {
    const unrun = this.snippets
      .map((snippet, index) => ({ snippet, index }))
      .filter(({ index }) => !this.run_.has(index) && !this.elsewhere.has(index))
      .map(({ snippet }) => snippet.split("\n").slice(0, 3).join("\n"));
    if (unrun.length > 0) {
      throw new Error(
        `${this.path}: ${unrun.length} ts snippet(s) no test runs (give them a test in ${testFileOf(this.path)}, or a non-ts fence):\n\n${unrun.join("\n---\n")}`,
      );
    }
  }
}

/** One page's snippets; `path` from the repository root (`README.md`, `docs/aggregates.md`). */
export function docPage(path: string): DocPage {
  if (relative(root, join(root, path)).startsWith("..")) throw new Error(`${path} is outside the repository`);
  return new DocPage(path);
}

async function runSource(source: string, scope: Record<string, unknown>, expose: string): Promise<Run> {
  const logs: unknown[][] = [];
  const { outputText } = ts.transpileModule(`${source}\n;__expose(${expose});`, {
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
      esModuleInterop: true,
    },
  });
  let result: unknown;
  const log = new StatementLog();
  const requireShim = (name: string) => (modules[name] ? modules[name]() : require(name));
  const console = { log: (...args: unknown[]) => logs.push(args) };
  const names = Object.keys(scope);
  const body = new AsyncFunction("require", "exports", "console", "__expose", ...names, outputText);
  const previous = currentLog;
  currentLog = log;
  try {
    // The DataSource shim reads currentLog when the snippet constructs one, which it does before its
    // first await in every snippet that builds one; concurrent runs of snippets building none are fine.
    const pending = body(requireShim, {}, console, (value: unknown) => (result = value), ...names.map((name) => scope[name]));
    currentLog = previous;
    await pending;
  } finally {
    currentLog = previous;
  }
  return { logs, result, statements: log.statements };
}
