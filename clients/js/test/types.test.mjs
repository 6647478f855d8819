// The generated declarations (dist/*.d.ts, from src/ by TypeScript) type a dashboard's use of the client and of the
// React entry point; the generated vocabulary's .d.ts matches its .js; the committed browser build is current.
// Needs the workspace's dev dependencies and a build (npm ci && npm run build; tests/run.sh does both).
import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { execFileSync } from "node:child_process";
import path from "node:path";
import fs from "node:fs";
import ts from "typescript";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

test("a typed dashboard usage (client and React) compiles under strict TypeScript against the built declarations", () => {
  const configPath = path.join(root, "test/types/tsconfig.json");
  const config = ts.getParsedCommandLineOfConfigFile(configPath, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => assert.fail(String(d.messageText)) });
  const program = ts.createProgram(config.fileNames, config.options);
  const diagnostics = ts.getPreEmitDiagnostics(program);
  const text = ts.formatDiagnostics(diagnostics, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => "\n" });
  assert.equal(diagnostics.length, 0, text);
});

test("live-events.d.ts declares exactly the values live-events.js exports", async () => {
  const runtime = Object.keys(await import(path.join(root, "live-events.js"))).sort();
  const source = ts.createSourceFile("live-events.d.ts", fs.readFileSync(path.join(root, "live-events.d.ts"), "utf8"), ts.ScriptTarget.ES2022, true);
  const declared = [];
  for (const statement of source.statements) {
    const exported = statement.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
    if (!exported) continue;
    if (ts.isVariableStatement(statement)) declared.push(...statement.declarationList.declarations.map((d) => d.name.getText()));
    else if (ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement)) declared.push(statement.name.getText());
  }
  assert.deepEqual([...new Set(declared)].sort(), runtime);
});

test("the committed browser build (live-updates.js) is what src/ builds to, and exports what dist/index.js does", async () => {
  execFileSync(process.execPath, [path.join(root, "build.mjs"), "--check"], { cwd: root, stdio: "pipe" });
  const bundle = Object.keys(await import(path.join(root, "live-updates.js"))).sort();
  const dist = Object.keys(await import(path.join(root, "dist/index.js"))).sort();
  assert.deepEqual(bundle, dist);
});
