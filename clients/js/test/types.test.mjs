// The .d.ts files compile, describe what the .js modules export, and type a dashboard's use of the client.
// Needs the typescript dev dependency (npm ci in clients/js; tests/run.sh does it): without it these tests fail.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import path from "node:path";
import fs from "node:fs";
import ts from "typescript";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

test("the declarations and a typed dashboard usage compile under strict TypeScript", () => {
  const configPath = path.join(root, "test/types/tsconfig.json");
  const config = ts.getParsedCommandLineOfConfigFile(configPath, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => assert.fail(String(d.messageText)) });
  const program = ts.createProgram(config.fileNames, config.options);
  const diagnostics = ts.getPreEmitDiagnostics(program);
  const text = ts.formatDiagnostics(diagnostics, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => "\n" });
  assert.equal(diagnostics.length, 0, text);
});

for (const [js, dts] of [
  ["live-updates.js", "live-updates.d.ts"],
  ["live-events.js", "live-events.d.ts"],
]) {
  test(`${dts} declares exactly the values ${js} exports`, async () => {
    const runtime = Object.keys(await import(path.join(root, js))).sort();
    const source = ts.createSourceFile(dts, fs.readFileSync(path.join(root, dts), "utf8"), ts.ScriptTarget.ES2022, true);
    const declared = [];
    for (const statement of source.statements) {
      const exported = statement.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
      if (!exported) continue;
      if (ts.isVariableStatement(statement)) declared.push(...statement.declarationList.declarations.map((d) => d.name.getText()));
      else if (ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement)) declared.push(statement.name.getText());
    }
    assert.deepEqual([...new Set(declared)].sort(), runtime);
  });
}

test("the React sample (react/LiveUpdatesProvider.tsx) is valid TSX", () => {
  // React and Next.js are not installed here, so this checks syntax only; the logic it wraps is tested above.
  const file = path.join(root, "react/LiveUpdatesProvider.tsx");
  const result = ts.transpileModule(fs.readFileSync(file, "utf8"), {
    fileName: file,
    reportDiagnostics: true,
    compilerOptions: { jsx: ts.JsxEmit.Preserve, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
  });
  const text = ts.formatDiagnostics(result.diagnostics ?? [], { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => "\n" });
  assert.equal(result.diagnostics?.length ?? 0, 0, text);
  assert.match(result.outputText, /export function useRealtimeData/);
});
