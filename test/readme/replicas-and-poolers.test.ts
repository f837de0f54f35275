import type { DataSource } from "typeorm";
import { createReplicatedDatabase, replicasUnavailable } from "../support/replicas";
import { docPage } from "./snippets";

const page = docPage("docs/replicas-and-poolers.md");

describe("docs/replicas-and-poolers.md", () => {
  // The suite's replica lags by 1 s: the snippet's read right after its insert finds the row only on the primary.
  (replicasUnavailable() ? it.skip : it)(
    "withOptimisticRetry and readFromPrimary read the primary through a global repository",
    async () => {
      const { Wallet, dataSource } = (await docPage("docs/getting-started.md").run("class Wallet", {}, "{ Wallet, dataSource }")).result;
      await dataSource.destroy();
      const db = await createReplicatedDatabase([]);
      let replicated: DataSource | undefined;
      try {
        const run = await page.run(
          "replication: { master: { url: PRIMARY_URL }",
          { Wallet, PRIMARY_URL: db.primaryUrl, REPLICA_URL: db.replicaUrl },
          "replicated",
        );
        replicated = run.result;
        expect(run.logs).toEqual([[150, 2]]);
      } finally {
        if (replicated?.isInitialized) await replicated.destroy();
        await db.close();
      }
    },
  );

  it("runs every ts snippet of the page", () => {
    if (replicasUnavailable())
      page.runsElsewhere("replication: { master", "nothing: the replica cluster is unavailable, and the test above says why");
    page.expectEverySnippetRun();
  });
});
