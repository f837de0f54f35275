/** Every test talks to real databases; see test/support/global-setup.ts. */
module.exports = {
  preset: "ts-jest",
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  moduleNameMapper: {
    "^typeorm-occ$": "<rootDir>/src/index.ts",
    "^typeorm-occ/http$": "<rootDir>/src/http/index.ts",
    "^typeorm-occ/nest$": "<rootDir>/src/nest/index.ts",
  },
  globalSetup: "<rootDir>/test/support/global-setup.ts",
  globalTeardown: "<rootDir>/test/support/global-teardown.ts",
  testTimeout: 60000,
  maxWorkers: 2,
};
