// Builds the package: dist/ (ES modules and their .d.ts, compiled from src/ by TypeScript) and live-updates.js, the
// single-file browser build of the main entry for pages without a bundler (the sample host's page loads it).
// `node build.mjs --check` (dist/ untouched) fails when the committed live-updates.js is not what src/ builds to.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const root = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const check = process.argv.includes("--check");

if (!check) {
  fs.rmSync(path.join(root, "dist"), { recursive: true, force: true });
  execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", path.join(root, "tsconfig.json")], { stdio: "inherit", cwd: root });
}

const bundle = await browserBundle();
const target = path.join(root, "live-updates.js");
if (check) {
  if (!fs.existsSync(target) || fs.readFileSync(target, "utf8") !== bundle) {
    console.error("live-updates.js is not what src/ builds to: run `npm run build` in clients/js and commit it");
    process.exit(1);
  }
} else {
  fs.writeFileSync(target, bundle);
}

/** The main entry as one ES module (readable, not minified). */
export async function browserBundle() {
  const esbuild = await import("esbuild");
  const result = await esbuild.build({
    entryPoints: [path.join(root, "src/index.ts")],
    bundle: true,
    format: "esm",
    target: "es2022",
    write: false,
    legalComments: "none",
    banner: {
      js:
        "// @liveupdates/client, built into one ES module for pages without a bundler (the sample host's page loads it).\n" +
        "// Generated from clients/js/src by `npm run build` (clients/js/build.mjs): do not edit. Types: the package's dist/*.d.ts.",
    },
  });
  return result.outputFiles[0].text;
}
