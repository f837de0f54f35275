import { PROBLEM_CONTENT_TYPE, problemDetails, staleDataProblem } from "typeorm-occ/http";
import { InvalidArgumentError, StaleDataError } from "typeorm-occ";
import { createTestDatabase, type TestDatabase } from "../support/data-source";
import { enabledDrivers } from "../support/drivers";
import { Doc } from "../support/entities/core";

describe("problemDetails", () => {
  it("fills RFC 9457 defaults: about:blank and the reason phrase", () => {
    expect(problemDetails({ status: 404, detail: "order 7 does not exist" })).toEqual({
      type: "about:blank",
      title: "Not Found",
      status: 404,
      detail: "order 7 does not exist",
    });
    expect(PROBLEM_CONTENT_TYPE).toBe("application/problem+json");
  });

  it("keeps extensions but never lets them replace the standard members", () => {
    const problem = problemDetails({
      status: 422,
      type: "https://example.test/p/x",
      title: "X",
      extensions: { status: 200, type: "evil", field: "qty" },
    });
    expect(problem).toEqual({ type: "https://example.test/p/x", title: "X", status: 422, field: "qty" });
  });

  // An argument mistake like any other (issue 17): InvalidArgumentError, code "invalid-argument", not a bare RangeError.
  it.each([200, 302, 600, 4.5])("refuses non-error status %p with InvalidArgumentError", (status) => {
    expect(() => problemDetails({ status })).toThrow(InvalidArgumentError);
    expect(() => problemDetails({ status })).toThrow(expect.objectContaining({ code: "invalid-argument" }));
  });
});

describe.each(enabledDrivers())("staleDataProblem from a real lost race (%s)", (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { entities: [Doc] });
  });
  afterAll(async () => db?.close());

  it("describes who is stale and which versions met", async () => {
    const docs = db.dataSource.getRepository(Doc);
    const created = await docs.save(docs.create({ title: "a" }));
    const stale = await docs.findOneByOrFail({ id: created.id });
    await docs.save({ ...(await docs.findOneByOrFail({ id: created.id })), title: "b" });
    stale.title = "c";
    const error = await docs.save(stale).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StaleDataError);

    expect(staleDataProblem(error as StaleDataError, { status: 412 })).toEqual({
      type: "about:blank",
      title: "Precondition Failed",
      status: 412,
      detail: `Doc#${created.id} is stale: expected version 1, found 2 (update)`,
      code: "stale-data",
      entity: "Doc",
      primaryKey: { id: created.id },
      expectedVersion: 1,
      actualVersion: 2,
      operation: "update",
    });
    expect(staleDataProblem(error as StaleDataError, { typeBase: "https://example.test/problems/" })).toMatchObject({
      type: "https://example.test/problems/stale-data",
      title: "The resource was changed by someone else",
      status: 409,
    });
  });
});
