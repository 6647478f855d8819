// The package as a dashboard gets it. `npm pack` in a clean checkout (the git-tracked files of clients/js only: no
// dist/ yet) builds it (prepack) and makes a tarball that
//  - publint and @arethetypeswrong/cli find no problem in (CommonJS `require` of this ESM-only package is the one rule
//    waived: CommonJS code loads it with import());
//  - a fresh project installs (no registry needed: no runtime dependency) and imports by its exports;
//  - TypeScript resolves, with its types, under "moduleResolution" bundler, node16 and node (node10, through
//    typesVersions), for every entry point, and types the React hooks' events.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { execFileSync } from "node:child_process";
import path from "node:path";
import fs from "node:fs";
import os from "node:os";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const repo = path.resolve(root, "../..");
const run = (file, args, cwd) => execFileSync(file, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
const npm = (args, cwd) => run("npm", args, cwd);
const bin = (name) => path.join(repo, "node_modules", ".bin", name);

/** The tracked files of clients/js, copied as a fresh clone has them (HEAD's index plus the work tree's edits). */
function cleanCheckout(dir) {
  const files = run("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard", "."], root).split("\0").filter(Boolean);
  for (const f of files) {
    if (!fs.existsSync(path.join(root, f))) continue; // deleted in the work tree
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.copyFileSync(path.join(root, f), path.join(dir, f));
  }
  assert.ok(!fs.existsSync(path.join(dir, "dist")), "a clean checkout has no dist/");
  // The build's tools (typescript, esbuild) as `npm ci` at the repository root installs them.
  fs.symlinkSync(path.join(repo, "node_modules"), path.join(dir, "node_modules"), "dir");
}

test("npm pack in a clean checkout builds the package; publint, attw, a fresh project and tsc (bundler, node16, node) accept it", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "liveupdates-pack-"));
  try {
    const checkout = path.join(dir, "client");
    cleanCheckout(checkout);
    const [packed] = JSON.parse(npm(["pack", "--json", "--pack-destination", dir], checkout).replace(/^[^[]*/, ""));
    const tarball = path.join(dir, packed.filename);
    const files = packed.files.map((f) => f.path).sort();
    for (const f of ["dist/index.js", "dist/index.d.ts", "dist/react/index.js", "dist/react/index.d.ts", "dist/next/index.js", "dist/next/index.d.ts", "live-events.js", "live-events.d.ts", "live-updates.js", "package.json"]) {
      assert.ok(files.includes(f), `${f} is in the tarball (prepack builds it): ${files}`);
    }
    assert.ok(!files.some((f) => f.startsWith("src/") || f.startsWith("test/")), `no sources or tests shipped: ${files}`);

    // publint (warnings are errors) and arethetypeswrong on the very tarball.
    const lint = run(bin("publint"), ["run", tarball, "--strict"], dir);
    assert.match(lint, /All good/, lint);
    let attw;
    try {
      attw = run(bin("attw"), [tarball, "--format", "table-flipped", "--ignore-rules", "cjs-resolves-to-esm"], dir);
    } catch (e) {
      assert.fail(`attw found problems:\n${e.stdout}${e.stderr}`);
    }
    assert.match(attw, /No problems found/, attw);

    const app = path.join(dir, "app");
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "fresh-app", private: true, type: "module" }));
    npm(["install", "--offline", "--no-audit", "--no-fund", "--loglevel=error", tarball], app);
    const installed = JSON.parse(fs.readFileSync(path.join(app, "package.json"), "utf8"));
    assert.ok(installed.dependencies["@liveupdates/client"], "saved as a dependency");

    const script = `
      import { LiveUpdatesClient, LiveEvents, Status } from "@liveupdates/client";
      import { LiveEventNames } from "@liveupdates/client/live-events";
      const c = new LiveUpdatesClient({ url: "ws://x", token: "t", resume: false });
      console.log(JSON.stringify({ status: c.status, live: Status.Live, event: LiveEvents.Moderation.RuleCreated, names: LiveEventNames.length,
        react: import.meta.resolve("@liveupdates/client/react").endsWith("/dist/react/index.js") }));`;
    const out = JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: app, encoding: "utf8" }));
    assert.deepEqual(out, { status: "connecting", live: "live", event: "moderation:rule_created", names: out.names, react: true });
    assert.ok(out.names > 10);

    // React's types as the app would have them (the package's .d.ts import "react").
    fs.mkdirSync(path.join(app, "node_modules/@types"), { recursive: true });
    for (const p of ["@types/react", "csstype"]) fs.symlinkSync(path.join(repo, "node_modules", p), path.join(app, "node_modules", p), "dir");
    fs.writeFileSync(
      path.join(app, "usage.tsx"),
      `import { LiveUpdatesClient, LiveEvents, type ModerationRule } from "@liveupdates/client";
       import { LiveEventNames, type LiveEventName } from "@liveupdates/client/live-events";
       import { useRealtimeData, useGuildSubscription, type UseRealtimeDataResult } from "@liveupdates/client/react";
       import { createLiveTokenRoute, createGuildApiProxy } from "@liveupdates/client/next";
       export const client: LiveUpdatesClient = new LiveUpdatesClient({ url: "ws://x", token: "t" });
       export const names: readonly LiveEventName[] = LiveEventNames;
       export function useRules(): UseRealtimeDataResult<ModerationRule[]> {
         useGuildSubscription();
         return useRealtimeData<ModerationRule[]>({
           path: "moderation/rules",
           events: [LiveEvents.Moderation.RuleCreated, LiveEvents.Moderation.RuleDeleted],
           onEvent: (event, data, current) =>
             event === LiveEvents.Moderation.RuleCreated ? [...current, data.rule]
             : event === LiveEvents.Moderation.RuleDeleted ? current.filter((r) => r.id !== data.ruleId)
             : "refetch",
         });
       }
       export const handlers = [createLiveTokenRoute, createGuildApiProxy];
      `,
    );
    const tsc = path.join(repo, "node_modules/typescript/bin/tsc");
    for (const [module, resolution] of [["esnext", "bundler"], ["node16", "node16"], ["commonjs", "node"]]) {
      const args = ["--noEmit", "--strict", "--skipLibCheck", "--jsx", "react-jsx", "--target", "es2022", "--lib", "es2022,dom", "--module", module, "--moduleResolution", resolution, "--types", "react", "usage.tsx"];
      try {
        run(process.execPath, [tsc, ...args], app);
      } catch (e) {
        assert.fail(`tsc --moduleResolution ${resolution}:\n${e.stdout}${e.stderr}`);
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
