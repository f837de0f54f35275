import {
  ConditionNotMetError,
  EntityDefinitionError,
  InvalidArgumentError,
  InvalidVersionError,
  LockTimeoutError,
  MissingPeerDependencyError,
  MissingVersionError,
  OccError,
  SharedConnectionBusyError,
  StaleDataError,
  TransactionRequiredError,
  TypeOrmCompatibilityError,
  UnguardedWriteError,
  isLockWaitTimeout,
  isSqliteBusy,
  isOccError,
  isStaleDataError,
  parseVersion,
  type OccErrorCode,
} from "typeorm-occ";
import { PreconditionHeaderError, PreconditionRequiredError, occProblemFor, parseIfMatch } from "typeorm-occ/http";
import { assertNestPeersInstalled } from "../../src/nest/peer-dependencies";

/**
 * Issue 17, types and messages: every error has a literal `name` and a stable `code` (the string
 * HTTP problem bodies carry), and the messages the issue quotes say what to do.
 */
const stale = new StaleDataError({
  entityName: "Order",
  primaryKey: { id: 7 },
  expectedVersion: 3,
  actualVersion: 4,
  operation: "update",
  entity: undefined,
});

const everyError: Array<[OccError, string, OccErrorCode]> = [
  [stale, "StaleDataError", "stale-data"],
  [new InvalidVersionError("Order", "version", "3"), "InvalidVersionError", "invalid-version"],
  [new MissingVersionError("Order", "version", { id: 7 }), "MissingVersionError", "missing-version"],
  [new EntityDefinitionError("Order", "bad"), "EntityDefinitionError", "entity-definition"],
  [new TypeOrmCompatibilityError("changed"), "TypeOrmCompatibilityError", "typeorm-compatibility"],
  [new TransactionRequiredError("Order", "needs one"), "TransactionRequiredError", "transaction-required"],
  [new UnguardedWriteError("Order", "update", "no"), "UnguardedWriteError", "unguarded-write"],
  [new SharedConnectionBusyError(100), "SharedConnectionBusyError", "shared-connection-busy"],
  [
    new ConditionNotMetError({
      entityName: "Wallet",
      operation: "updateIf",
      criteria: { id: 1 },
      matchedRows: 0,
      expectedRows: undefined,
      rowExists: true,
    }),
    "ConditionNotMetError",
    "condition-not-met",
  ],
  [new LockTimeoutError("Order#7", 0), "LockTimeoutError", "lock-timeout"],
  [new InvalidArgumentError("Order", "updateIf", "where is empty"), "InvalidArgumentError", "invalid-argument"],
  [new MissingPeerDependencyError("typeorm-occ/nest", ["@nestjs/common"]), "MissingPeerDependencyError", "missing-peer-dependency"],
  [new PreconditionRequiredError(), "PreconditionRequiredError", "precondition-required"],
  [new PreconditionHeaderError("*", "a wildcard"), "PreconditionHeaderError", "invalid-if-match"],
];

describe("error names and codes", () => {
  it.each(everyError.map(([error, name, code]) => [name, code, error] as const))(
    "%s has the literal name and the code %s",
    (name, code, error) => {
      expect(error).toBeInstanceOf(OccError);
      expect(error.name).toBe(name);
      expect(error.code).toBe(code);
      expect(String(error.stack)).toMatch(new RegExp(`^${name}: `));
      // Own fields, so they survive JSON logging.
      expect(JSON.parse(JSON.stringify(error))).toMatchObject({ name, code });
    },
  );

  it("types name and code as literals", () => {
    const name: "StaleDataError" = stale.name;
    const code: "stale-data" = stale.code;
    // @ts-expect-error the code is a literal type, not any string
    const other: "lock-timeout" = stale.code;
    expect([name, code, other]).toEqual(["StaleDataError", "stale-data", "stale-data"]);
  });

  it("the HTTP problem body carries the error's own code", () => {
    for (const [error, , code] of everyError) {
      const problem = occProblemFor(error, { hadIfMatch: false });
      if (problem) expect([code, problem.code]).toEqual([code, code]);
    }
    expect(occProblemFor(new MissingVersionError("Order", "version", { id: 7 }), { hadIfMatch: false })).toMatchObject({
      status: 400,
      code: "missing-version",
    });
    expect(occProblemFor(new InvalidArgumentError("Order", "updateIf", "bad"), { hadIfMatch: false })).toBeUndefined(); // a programming error: 500
  });

  it("isStaleDataError recognizes a StaleDataError from another copy of the package by its shape", () => {
    class StaleDataErrorOfAnotherCopy extends Error {
      readonly name = "StaleDataError";
      readonly code = "stale-data";
      readonly entityName = "Order";
      readonly expectedVersion = 3;
    }
    expect(isStaleDataError(new StaleDataErrorOfAnotherCopy("Order#7 is stale"))).toBe(true);
    expect(isStaleDataError(stale)).toBe(true);
    expect(isStaleDataError(new LockTimeoutError("Order#7", 0))).toBe(false);
  });

  it("isOccError types every error as one union, so checking code narrows to the class", () => {
    const caught: unknown = stale;
    if (!isOccError(caught)) throw new Error("a StaleDataError is an OccError");
    // @ts-expect-error before the code is checked, the union has no expectedVersion
    void caught.expectedVersion;
    if (caught.code !== "stale-data") throw new Error("the code of a StaleDataError is stale-data");
    const narrowed: StaleDataError = caught; // compiles only because the code narrowed the union
    expect([narrowed.expectedVersion, narrowed.actualVersion]).toEqual([3, 4]);
    for (const [error] of everyError) expect(isOccError(error)).toBe(true);
  });

  it("isOccError knows an error of another copy of the package by its name and code as a pair", () => {
    const ofAnotherCopy = Object.assign(new Error("Order.version must be …"), { name: "InvalidVersionError", code: "invalid-version" });
    expect(isOccError(ofAnotherCopy)).toBe(true);
    expect(occProblemFor(ofAnotherCopy, { hadIfMatch: false })).toMatchObject({ status: 400, code: "invalid-version" });
    // A driver's or another library's error with a code of its own is not ours.
    expect(isOccError(Object.assign(new Error("x"), { name: "Error", code: "invalid-version" }))).toBe(false);
    expect(isOccError(Object.assign(new Error("busy"), { code: "SQLITE_BUSY" }))).toBe(false);
    expect(isOccError(new RangeError("x"))).toBe(false);
    expect(isOccError("stale-data")).toBe(false);
  });

  it("SharedConnectionBusyError still counts as SQLite's busy error for retries, also from another copy", () => {
    expect(isSqliteBusy(new SharedConnectionBusyError(100))).toBe(true);
    expect(isLockWaitTimeout(new SharedConnectionBusyError(100))).toBe(true);
    const ofAnotherCopy = Object.assign(new Error("busy"), { name: "SharedConnectionBusyError", code: "shared-connection-busy" });
    expect(isSqliteBusy(ofAnotherCopy)).toBe(true);
  });
});

describe("messages", () => {
  const messageOf = (call: () => unknown): string => {
    try {
      call();
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error("expected an error");
  };

  it.each(['"3"', 'W/"3"', ' "3" '])("parseVersion(%j) points to parseIfMatch", (value) => {
    const message = messageOf(() => parseVersion(value));
    expect(message).toMatch(/If-Match header value .*parseIfMatch\(\) from "typeorm-occ\/http"/);
    expect(message).not.toMatch(/with parseVersion\(\) first/);
  });

  it("parseVersion of other text says how a version is written, not to call parseVersion", () => {
    const message = messageOf(() => parseVersion("3.0"));
    expect(message).toBe(
      'input.version cannot be "3.0": a version is written as decimal digits only, e.g. "3" (no sign, spaces, decimals or exponent; at most 2^53 - 1)',
    );
  });

  it("a string version in a save points to parseVersion, or to parseIfMatch for an ETag", () => {
    expect(new InvalidVersionError("Order", "version", "3").message).toMatch(/\(convert request input with parseVersion\(\) first\)$/);
    expect(new InvalidVersionError("Order", "version", '"3"').message).toMatch(/an If-Match value: read it with parseIfMatch\(\)/);
  });

  it("parseIfMatch('1') says the ETag is unquoted and shows the quoted form, without echoing a quoted \"1\"", () => {
    const message = messageOf(() => parseIfMatch("1"));
    expect(message).toBe(
      'If-Match must be exactly one strong ETag such as "3": the version is not quoted: an ETag goes in double quotes, If-Match: "1" (received If-Match: 1)',
    );
    expect(message).not.toContain('got "1"');
  });

  it("other malformed If-Match values are shown as the header line reads", () => {
    expect(messageOf(() => parseIfMatch('W/"3"'))).toBe(
      'If-Match must be exactly one strong ETag such as "3": weak ETags cannot guard a write (received If-Match: W/"3")',
    );
    expect(messageOf(() => parseIfMatch('"a\nb"'))).toContain('(received If-Match: "a\\nb")');
  });

  it("typeorm-occ/nest without its peers names what to install", () => {
    const missing = (name: string): string => {
      throw Object.assign(new Error(`Cannot find module '${name}'`), { code: "MODULE_NOT_FOUND" });
    };
    expect(() => assertNestPeersInstalled(missing, 22)).toThrow(
      new MissingPeerDependencyError("typeorm-occ/nest", ["@nestjs/common", "@nestjs/core", "rxjs"]),
    );
    expect(messageOf(() => assertNestPeersInstalled((name) => (name === "rxjs" ? missing(name) : name), 22))).toBe(
      "typeorm-occ/nest needs rxjs, which is not installed: npm install rxjs",
    );
    expect(() => assertNestPeersInstalled((name) => name)).not.toThrow();
  });

  // NestJS 12 needs Node 22: on Node 20 a bare `npm install @nestjs/common` installs it and warns EBADENGINE.
  it("typeorm-occ/nest without its peers on Node 20 names the NestJS major that runs there", () => {
    const missing = (name: string): string => {
      throw Object.assign(new Error(`Cannot find module '${name}'`), { code: "MODULE_NOT_FOUND" });
    };
    const error = (() => {
      try {
        assertNestPeersInstalled(missing, 20);
      } catch (thrown) {
        return thrown as MissingPeerDependencyError;
      }
      throw new Error("did not throw");
    })();
    expect(error.message).toBe(
      "typeorm-occ/nest needs @nestjs/common, @nestjs/core, rxjs, which are not installed: npm install @nestjs/common@11 @nestjs/core@11 rxjs",
    );
    expect(error.packages).toEqual(["@nestjs/common", "@nestjs/core", "rxjs"]);
  });
});
