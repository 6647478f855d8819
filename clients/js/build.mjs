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
  return exportClassDeclarations(result.outputFiles[0].text);
}

/**
 * esbuild writes an exported class as `var Name = class {…}` plus `export { Name }`; write it back as
 * `export class Name {…}`, as in the source (same module semantics here: nothing uses a class before its declaration).
 * The sample host's tests look for `export class LiveUpdatesClient` in the file the page loads.
 */
function exportClassDeclarations(code) {
  const list = /\nexport \{([^}]*)\};\n?$/.exec(code);
  if (!list) return code;
  const names = list[1].split(",").map((n) => n.trim()).filter(Boolean);
  code = code.slice(0, list.index);
  const moved = new Set();
  for (const name of names) {
    const declaration = new RegExp(`^var ${name} = class( extends [\\w.]+)? \\{`, "m");
    if (declaration.test(code)) {
      code = code.replace(declaration, (_m, ext) => `export class ${name}${ext ?? ""} {`);
      moved.add(name);
    }
  }
  const rest = names.filter((n) => !moved.has(n));
  return code + (rest.length ? `\nexport {\n  ${rest.join(",\n  ")}\n};\n` : "\n");
}
