// A fresh Next.js app made as a newcomer would (issue 22): the package as `npm pack` makes it from a clean checkout,
// installed into a new app (the versions the sample uses, from the npm registry, `--prefer-offline` with npm's cache)
// that has what an existing app has (package.json, tsconfig.json, a root layout and page) plus the files of the
// Next.js guide in docs/dashboard.md, taken from the guide itself (every block whose first line names a file); then `tsc
// --noEmit` and `next build`. Used by newcomer.test.mjs and, to run the app in Chromium against the sample host, by
// tests/LiveUpdates.BrowserTests (NewcomerAppTests): `node clients/js/testing/newcomer-app.mjs DIR` builds it in DIR/app
// and prints {"app": DIR/app}. Needs `npm ci` at the repository root (the build's tools).
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { execFileSync } from "node:child_process";
import path from "node:path";
import fs from "node:fs";
import { typeScriptBlocks, namedFiles } from "./markdown.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const repo = path.resolve(root, "../..");

/** Runs a command; on failure, fails with its output (the last 4,000 characters). */
export function run(file, args, cwd, { timeout = 120_000, env = {} } = {}) {
  try {
    return execFileSync(file, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout, env: { ...process.env, ...env } });
  } catch (e) {
    const out = `${e.stdout ?? ""}${e.stderr ?? ""}`;
    assert.fail(`${path.basename(file)} ${args.join(" ")} failed (${e.signal ?? `exit ${e.status}`}) in ${cwd}:\n${out.slice(-4000)}`);
  }
}

/** The tracked files of clients/js as a fresh clone has them (no dist/), with the build's tools of `npm ci`. */
function cleanCheckout(dir) {
  const files = run("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard", "."], root).split("\0").filter(Boolean);
  for (const f of files) {
    if (!fs.existsSync(path.join(root, f))) continue;
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.copyFileSync(path.join(root, f), path.join(dir, f));
  }
  fs.symlinkSync(path.join(repo, "node_modules"), path.join(dir, "node_modules"), "dir");
}

/** The guide's files: the `## Use it from a Next.js dashboard` section of docs/dashboard.md, blocks that name a file. */
export function guideFiles() {
  const readme = fs.readFileSync(path.join(repo, "docs", "dashboard.md"), "utf8");
  const start = readme.indexOf("\n## Use it from a Next.js dashboard\n");
  assert.ok(start >= 0, "docs/dashboard.md has the Next.js guide");
  const end = readme.indexOf("\n## ", start + 10);
  return namedFiles(typeScriptBlocks(readme.slice(start, end < 0 ? undefined : end)));
}

/** Builds the app in `dir`/app (`dir` must exist); returns { app, build: next build's output, files: the guide's }. */
export function makeNewcomerApp(dir) {
  const files = guideFiles();
  const names = files.map((f) => f.name).sort();
  for (const needed of ["app/api/live-token/route.ts", "app/guilds/layout.tsx", "app/guilds/[guildId]/page.tsx"]) {
    assert.ok(names.includes(needed), `the guide gives ${needed} (it gives ${names.join(", ")})`);
  }
  // 1. The package, as `npm pack` in a clean checkout makes it (prepack builds dist/).
  const checkout = path.join(dir, "client");
  cleanCheckout(checkout);
  const [packed] = JSON.parse(run("npm", ["pack", "--json", "--pack-destination", dir], checkout).replace(/^[^[]*/, ""));
  const tarball = path.join(dir, packed.filename);

  // 2. An existing Next.js app (what create-next-app leaves, without its styling), at the sample's exact versions.
  const sample = JSON.parse(fs.readFileSync(path.join(repo, "samples/nextjs-dashboard/package.json"), "utf8"));
  const versions = { ...sample.dependencies, ...sample.devDependencies };
  const pick = (list) => Object.fromEntries(list.map((n) => [n, versions[n]]));
  for (const [name, version] of Object.entries(versions)) {
    if (name !== "@liveupdates/client") assert.match(version, /^\d+\.\d+\.\d+$/, `the sample pins ${name} exactly`);
  }
  const app = path.join(dir, "app");
  fs.mkdirSync(path.join(app, "app"), { recursive: true });
  fs.writeFileSync(
    path.join(app, "package.json"),
    JSON.stringify(
      {
        name: "newcomer-dashboard",
        private: true,
        scripts: { build: "next build" },
        // `npm install @liveupdates/client`, here the tarball (one install: the app's packages and the client)
        dependencies: { "@liveupdates/client": `file:${tarball}`, ...pick(["next", "next-auth", "react", "react-dom"]) },
        devDependencies: pick(["typescript", "@types/node", "@types/react", "@types/react-dom"]),
      },
      null,
      2,
    ),
  );
  fs.writeFileSync(
    path.join(app, "tsconfig.json"),
    JSON.stringify(
      {
        compilerOptions: {
          target: "ES2017", lib: ["dom", "dom.iterable", "esnext"], allowJs: true, skipLibCheck: true, strict: true, noEmit: true,
          esModuleInterop: true, module: "esnext", moduleResolution: "bundler", resolveJsonModule: true, isolatedModules: true,
          jsx: "react-jsx", incremental: true, plugins: [{ name: "next" }], paths: { "@/*": ["./*"] },
        },
        include: ["next-env.d.ts", "**/*.ts", "**/*.tsx", ".next/types/**/*.ts"],
        exclude: ["node_modules"],
      },
      null,
      2,
    ),
  );
  fs.writeFileSync(
    path.join(app, "app/layout.tsx"),
    `import type { ReactNode } from "react";\n\nexport default function RootLayout({ children }: { children: ReactNode }) {\n  return (\n    <html lang="en">\n      <body>{children}</body>\n    </html>\n  );\n}\n`,
  );
  fs.writeFileSync(path.join(app, "app/page.tsx"), `export default function Home() {\n  return <p>An existing app.</p>;\n}\n`);

  // 3. The install, then the guide's files as written.
  run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], app, { timeout: 180_000 });
  const installed = JSON.parse(fs.readFileSync(path.join(app, "node_modules/@liveupdates/client/package.json"), "utf8"));
  assert.equal(installed.version, packed.version);
  assert.ok(!fs.lstatSync(path.join(app, "node_modules/@liveupdates/client")).isSymbolicLink(), "installed from the tarball, not linked");
  for (const f of files) {
    fs.mkdirSync(path.dirname(path.join(app, f.name)), { recursive: true });
    fs.writeFileSync(path.join(app, f.name), f.code);
  }

  // 4. What the newcomer runs: the type check, then the production build (no telemetry, no lint step in Next 16).
  run(path.join(app, "node_modules/.bin/tsc"), ["--noEmit", "-p", "."], app);
  const env = { NEXT_TELEMETRY_DISABLED: "1", AUTH_SECRET: "newcomer-test-secret-0123456789abcdef" };
  const build = run(path.join(app, "node_modules/.bin/next"), ["build"], app, { timeout: 240_000, env });
  for (const route of ["/api/live-token", "/api/guilds/[guildId]/[...path]", "/guilds/[guildId]"]) {
    assert.ok(build.includes(route), `next build lists ${route}:\n${build}`);
  }
  return { app, build, files };
}

if (process.argv[2] && process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = path.resolve(process.argv[2]);
  fs.mkdirSync(dir, { recursive: true });
  const { app } = makeNewcomerApp(dir);
  console.log(JSON.stringify({ app }));
}
