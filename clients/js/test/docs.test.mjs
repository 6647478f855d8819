// Every TypeScript block of the dashboard docs compiles, under strict TypeScript, against the built package and the
// workspace's next, next-auth and React: the docs' dashboard page (its Next.js guide), the root README's five-minute
// integration, the package's README and the sample's.
// A block whose first line is a comment naming a file (`// app/guilds/layout.tsx`) is that file, so blocks of one
// document import each other as the files would; any other block is a module of its own. Needs `npm ci` and a build.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import path from "node:path";
import fs from "node:fs";
import os from "node:os";
import ts from "typescript";
import { typeScriptBlocks } from "../testing/markdown.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const repo = path.resolve(root, "../..");

/** The `## heading` sections of a Markdown file with those headings (each up to the next `## `). */
function sections(markdown, headings) {
  return headings
    .map((h) => {
      const start = markdown.indexOf(`\n${h}\n`);
      assert.ok(start >= 0, `no section "${h}"`);
      const end = markdown.indexOf("\n## ", start + h.length + 2);
      return "\n".repeat(markdown.slice(0, start).split("\n").length - 1) + markdown.slice(start, end < 0 ? undefined : end); // keeps line numbers
    })
    .join("\n");
}

// docs/dashboard.md: its dashboard-side sections (TypeScript fragments elsewhere in docs/, e.g. the `jwt` callback
// under Security, are excerpts, not files).
const docs = [
  { file: "docs/dashboard.md", atLeast: 5, sections: ["## The JavaScript client", "## Use it from a Next.js dashboard"] },
  { file: "README.md", atLeast: 2 }, // its five-minute integration: the token route and a live page
  { file: "clients/js/README.md", atLeast: 1 },
  { file: "samples/nextjs-dashboard/README.md", atLeast: 0 },
];

for (const { file, atLeast, sections: only } of docs) {
  test(`the TypeScript blocks of ${file}${only ? ` (${only.join(", ")})` : ""} compile against the built package`, () => {
    const markdown = fs.readFileSync(path.join(repo, file), "utf8");
    const blocks = typeScriptBlocks(only ? sections(markdown, only) : markdown);
    assert.ok(blocks.length >= atLeast, `${file} has ${blocks.length} TypeScript blocks, expected at least ${atLeast}`);
    if (blocks.length === 0) return;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "liveupdates-docs-"));
    try {
      fs.symlinkSync(path.join(repo, "node_modules"), path.join(dir, "node_modules"), "dir");
      const where = new Map();
      const files = blocks.map((b, n) => {
        const named = /^\/\/ ((?:[\w.@[\]-]+\/)*[\w.@[\]-]+\.tsx?)\b/.exec(b.code);
        const name = named ? named[1] : `snippet-${n + 1}.${b.lang === "ts" ? "ts" : "tsx"}`;
        const full = path.join(dir, name);
        assert.ok(!where.has(full), `${file}:${b.line} names ${name} again`);
        fs.mkdirSync(path.dirname(full), { recursive: true });
        fs.writeFileSync(full, b.code);
        where.set(full, b.line);
        return full;
      });
      const program = ts.createProgram(files, {
        strict: true,
        noEmit: true,
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.ESNext,
        moduleResolution: ts.ModuleResolutionKind.Bundler,
        jsx: ts.JsxEmit.ReactJSX,
        lib: ["lib.es2022.d.ts", "lib.dom.d.ts", "lib.dom.iterable.d.ts"],
        types: ["node", "react", "react-dom"],
        skipLibCheck: true,
        isolatedModules: true,
        esModuleInterop: true,
      });
      const diagnostics = ts.getPreEmitDiagnostics(program);
      const text = diagnostics
        .map((d) => {
          const message = ts.flattenDiagnosticMessageText(d.messageText, "\n");
          if (!d.file) return message;
          const { line } = d.file.getLineAndCharacterOfPosition(d.start ?? 0);
          const blockLine = where.get(path.resolve(d.file.fileName));
          return blockLine ? `${file}:${blockLine + 1 + line} (${path.relative(dir, d.file.fileName)}): ${message}` : `${d.file.fileName}: ${message}`;
        })
        .join("\n");
      assert.equal(diagnostics.length, 0, text);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}
