import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { DataSource } from "typeorm";
import { docPage, documentedPages, testFileOf, tsSnippets } from "./snippets";

const page = docPage("README.md");
const root = join(__dirname, "../..");

describe("README.md", () => {
  const opened: DataSource[] = [];
  afterAll(async () => {
    for (const dataSource of opened) if (dataSource.isInitialized) await dataSource.destroy();
  });

  it("the example: Bob's stale save raises StaleDataError", async () => {
    const run = await page.run('// was: import { VersionColumn } from "typeorm"', {}, "{ Wallet, dataSource, id }");
    opened.push(run.result.dataSource);
    expect(run.logs).toEqual([[true, "Wallet#1 is stale: expected version 1, found 2 (update)"]]);
    const row = await run.result.dataSource.getRepository(run.result.Wallet).findOneByOrFail({ id: run.result.id });
    expect(row).toMatchObject({ balance: 150, version: 2 });
  });

  it("the entry file runs elsewhere: test/packaging compiles and runs it from the packed README", () => {
    expect(page.snippet("// main.ts\n")).toContain("async function main()");
    page.runsElsewhere("// main.ts\n", "test/packaging/packed-package.test.ts");
  });

  it("runs every ts snippet of the page", () => page.expectEverySnippetRun());
});

describe("every documentation page", () => {
  const pages = documentedPages();
  const counts = Object.fromEntries(pages.map((path) => [path, tsSnippets(readFileSync(join(root, path), "utf8")).length]));

  it("with ts snippets has a test file that runs them", () => {
    const missing = pages.filter((path) => counts[path] > 0 && !existsSync(join(root, testFileOf(path))));
    expect(missing.map((path) => `${path} needs ${testFileOf(path)}`)).toEqual([]);
  });

  // A second count, so that adding or removing a snippet is a visible change to its test too.
  it("has the runnable snippets its test expects", () => {
    expect(Object.fromEntries(Object.entries(counts).filter(([, count]) => count > 0))).toEqual({
      "README.md": 2,
      "docs/aggregates.md": 3,
      "docs/choosing-a-remedy.md": 6,
      "docs/entity-schema.md": 1,
      "docs/errors.md": 3,
      "docs/getting-started.md": 2,
      "docs/http-and-nestjs.md": 2,
      "docs/replicas-and-poolers.md": 1,
      "docs/retrying.md": 1,
      "docs/typeorm-transactional.md": 1,
    });
  });

  it("links only to files and headings that exist", () => {
    // GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens.
    const anchorsOf = (file: string) =>
      new Set(
        [
          ...readFileSync(file, "utf8")
            .replace(/^```[\s\S]*?^```$/gm, "")
            .matchAll(/^#+ (.+)$/gm),
        ].map(([, heading]) =>
          heading
            .toLowerCase()
            .replace(/[^\p{L}\p{N} _-]/gu, "")
            .replace(/ /g, "-"),
        ),
      );
    const broken: string[] = [];
    for (const path of pages) {
      const text = readFileSync(join(root, path), "utf8").replace(/^```[\s\S]*?^```$/gm, "");
      for (const [, target, anchor] of text.matchAll(/\]\(([^)#\s]*)(?:#([^)\s]*))?\)/g)) {
        if (/^[a-z]+:/.test(target)) continue;
        const file = target === "" ? join(root, path) : join(root, path, "..", target);
        if (!existsSync(file)) broken.push(`${path} → ${target}`);
        else if (anchor && file.endsWith(".md") && !anchorsOf(file).has(anchor)) broken.push(`${path} → ${target}#${anchor}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
