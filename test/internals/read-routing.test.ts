import { DataSource } from "typeorm";
import { readFromPrimary } from "typeorm-occ";
import { installReadRouting } from "../../src/internals/read-routing";

/**
 * The one TypeORM method typeorm-occ wraps to route reads: public `DataSource.createQueryRunner(mode)`.
 * These go red when TypeORM renames it, stops passing the mode through, or the wrapper is installed twice.
 */
describe("read routing (src/internals/read-routing.ts)", () => {
  // Never connected: PostgreSQL's query runners record their mode when created, before any connection.
  const dataSource = new DataSource({ type: "postgres", url: "postgres://postgres@127.0.0.1:9/unused" });

  const modeOf = (mode?: "master" | "slave") => {
    const runner = mode ? dataSource.createQueryRunner(mode) : dataSource.createQueryRunner();
    return (runner as unknown as { mode?: string }).mode;
  };

  it("is installed once, marked, with TypeORM's arity", () => {
    const installed = DataSource.prototype.createQueryRunner;
    expect((DataSource.prototype as unknown as Record<symbol, unknown>)[Symbol.for("typeorm-occ.read-routing")]).toBe(true);
    installReadRouting(() => true); // a second copy of typeorm-occ: nothing happens
    expect(DataSource.prototype.createQueryRunner).toBe(installed);
    expect(installed.length).toBe(0); // TypeORM's `createQueryRunner(mode = "master")`
  });

  it("TypeORM's query runners still record the mode they were asked for, which the driver routes by", () => {
    expect(modeOf("slave")).toBe("slave");
    expect(modeOf("master")).toBe("master");
    expect(modeOf()).toBe("master");
  });

  it("inside readFromPrimary a replica's mode becomes the primary's; nothing else changes", async () => {
    await readFromPrimary(async () => {
      expect(modeOf("slave")).toBe("master");
      expect(modeOf("master")).toBe("master");
      expect(dataSource.createQueryRunner().manager).toBeDefined();
    });
    expect(modeOf("slave")).toBe("slave");
  });
});
