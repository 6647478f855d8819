// `npm pack` makes a tarball that a fresh project installs (no registry needed: no runtime dependency) and imports
// by its exports: the client, the vocabulary and the React entry point (React itself is a peer the app brings).
import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { execFileSync } from "node:child_process";
import path from "node:path";
import fs from "node:fs";
import os from "node:os";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const npm = (args, cwd) => execFileSync("npm", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

test("npm pack → npm install in an empty project → import '@liveupdates/client' and its entry points", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "liveupdates-pack-"));
  try {
    const [packed] = JSON.parse(npm(["pack", "--json", "--ignore-scripts", "--pack-destination", dir], root));
    const files = packed.files.map((f) => f.path).sort();
    for (const f of ["dist/index.js", "dist/index.d.ts", "dist/react/index.js", "dist/react/index.d.ts", "live-events.js", "live-events.d.ts", "live-updates.js", "package.json"]) {
      assert.ok(files.includes(f), `${f} is in the tarball: ${files}`);
    }
    assert.ok(!files.some((f) => f.startsWith("src/") || f.startsWith("test/")), `no sources or tests shipped: ${files}`);

    const app = path.join(dir, "app");
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "fresh-app", private: true, type: "module" }));
    npm(["install", "--offline", "--no-audit", "--no-fund", "--loglevel=error", path.join(dir, packed.filename)], app);
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
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
