// What the package costs a dashboard: everything (client, React bindings, vocabulary) minified and gzipped, React
// itself excluded. Prints the figures and fails past a budget, so growth is a decision, not an accident.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import path from "node:path";
import zlib from "node:zlib";
import * as esbuild from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const BUDGET_GZIP_BYTES = 10 * 1024;

async function size(contents) {
  const result = await esbuild.build({
    stdin: { contents, resolveDir: root, loader: "ts" },
    bundle: true,
    minify: true,
    format: "esm",
    write: false,
    external: ["react", "react/jsx-runtime"],
    logLevel: "error",
  });
  const code = result.outputFiles[0].contents;
  return { min: code.length, gzip: zlib.gzipSync(code, { level: 9 }).length };
}

test(`the whole package is under ${BUDGET_GZIP_BYTES} bytes minified + gzipped`, async (t) => {
  const all = await size('export * from "./src/index.ts"; export * from "./src/react/index.tsx";');
  const client = await size('export { LiveUpdatesClient } from "./src/index.ts";');
  t.diagnostic(`everything: ${all.min} B min, ${all.gzip} B min+gzip; LiveUpdatesClient alone: ${client.min} B min, ${client.gzip} B min+gzip`);
  assert.ok(all.gzip < BUDGET_GZIP_BYTES, `${all.gzip} B`);
  assert.ok(client.gzip < all.gzip, "sideEffects: false lets a bundler drop what is not imported");
});
