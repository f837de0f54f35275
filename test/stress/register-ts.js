// Lets child processes forked from the Jest suite run this folder's TypeScript directly:
// transpiles .ts on require (with decorator metadata) and maps "typeorm-occ" to src/, as Jest does.
// `npm run stress` runs the compiled JavaScript instead and does not need this file.
const fs = require("node:fs");
const path = require("node:path");
const Module = require("node:module");
const ts = require("typescript");

const root = path.resolve(__dirname, "../..");
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  return resolve.call(this, request === "typeorm-occ" ? path.join(root, "src/index.ts") : request, ...rest);
};
require.extensions[".ts"] = (module, filename) => {
  const { outputText } = ts.transpileModule(fs.readFileSync(filename, "utf8"), {
    fileName: filename,
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
      esModuleInterop: true,
    },
  });
  module._compile(outputText, filename);
};
