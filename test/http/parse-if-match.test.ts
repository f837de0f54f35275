import { OccError } from "typeorm-occ";
import { PreconditionHeaderError, PreconditionRequiredError, etagFor, parseIfMatch } from "typeorm-occ/http";

describe("parseIfMatch", () => {
  it.each<[string | string[], number]>([
    ['"0"', 0],
    ['"1"', 1],
    ['"42"', 42],
    [' "7"\t', 7],
    [['"5"'], 5],
    [`"${Number.MAX_SAFE_INTEGER}"`, Number.MAX_SAFE_INTEGER],
  ])("reads %j as version %p", (header, version) => {
    expect(parseIfMatch(header)).toBe(version);
  });

  it("reads back every ETag etagFor writes", () => {
    for (const version of [0, 1, 9, 10, 123456, Number.MAX_SAFE_INTEGER]) expect(parseIfMatch(etagFor(version))).toBe(version);
  });

  it.each<string | string[]>([
    "",
    "   ",
    "*",
    'W/"3"',
    'w/"3"',
    '"3", "4"',
    '"3",',
    "3",
    "'3'",
    '"3',
    '3"',
    '""',
    '"03"',
    '"-1"',
    '"+1"',
    '"1.0"',
    '"1e3"',
    '"0x10"',
    '" 3"',
    '"3 "',
    '"３"',
    '"v3"',
    '"9007199254740992"',
    '"99999999999999999999"',
    '"1" OR 1=1',
    `"1"; DROP TABLE "order"; --`,
    "1 OR 1=1",
    "\"1' OR '1'='1\"",
    '"1\u0000"',
    `"${"9".repeat(5000)}"`,
    ['"1"', '"2"'],
  ])("refuses %j with PreconditionHeaderError", (header) => {
    const error = (() => {
      try {
        parseIfMatch(header);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(PreconditionHeaderError);
    expect(error).toBeInstanceOf(OccError);
    expect((error as Error).name).toBe("PreconditionHeaderError");
    expect((error as Error).message.length).toBeLessThan(200);
  });

  it.each<undefined | string[]>([undefined, []])("reports a missing header (%p) with PreconditionRequiredError", (header) => {
    expect(() => parseIfMatch(header)).toThrow(PreconditionRequiredError);
    try {
      parseIfMatch(header);
    } catch (error) {
      expect(error).toBeInstanceOf(OccError);
      expect(error).toMatchObject({ name: "PreconditionRequiredError", header: "If-Match" });
    }
  });
});
