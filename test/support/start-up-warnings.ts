import type { DriverName } from "./drivers";
import { createTestDatabase, type TestDatabase } from "./data-source";

export interface StartUpWarningsFixture {
  /** A database with no entities of its own: each test initializes a DataSource with the entities it warns about. */
  db: TestDatabase;
  /** `process.emitWarning`, captured (and kept off the test output) for each test. */
  processWarnings: jest.SpyInstance;
}

/** Call inside a `describe`: sets up the database and the warning capture the start-up warning tests share. */
export function startUpWarningsFixture(driver: DriverName): StartUpWarningsFixture {
  const fixture = {} as StartUpWarningsFixture;
  beforeAll(async () => {
    fixture.db = await createTestDatabase(driver, { entities: [] });
  });
  afterAll(async () => fixture.db?.close());
  beforeEach(() => {
    fixture.processWarnings = jest.spyOn(process, "emitWarning").mockImplementation(() => undefined);
  });
  afterEach(() => fixture.processWarnings.mockRestore());
  return fixture;
}
