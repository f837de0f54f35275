// ESLint for the whole repository: JavaScript's and typescript-eslint's recommended rules (syntax
// only, no type information: fast on a small machine, and `tsc` already checks the types), with
// every formatting rule left to Prettier (eslint-config-prettier). `npm run lint` runs both.
import js from "@eslint/js";
import prettier from "eslint-config-prettier";
import { defineConfig, globalIgnores } from "eslint/config";
import globals from "globals";
import tseslint from "typescript-eslint";

export default defineConfig(
  globalIgnores(["dist/", "coverage/", ".occ-tmp/", "bench/results/"]),
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: { globals: globals.node },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      // TypeORM names entity classes `Function` (EntityTarget, EntityMetadata.target), and so do we.
      "@typescript-eslint/no-unsafe-function-type": "off",
      // `_name` marks a parameter a signature needs but the body does not (Express's error handlers).
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrorsIgnorePattern: "^_" }],
    },
  },
  {
    // Tests and benchmarks load TypeORM's internals and fresh module copies with require(), and
    // read untyped JSON (HTTP bodies, manifests) as `any`.
    files: ["test/**", "bench/**"],
    rules: {
      "@typescript-eslint/no-require-imports": "off",
      "@typescript-eslint/no-explicit-any": "off",
    },
  },
  prettier,
);
