// Reading the docs' code: shared by docs.test.mjs (type-checks every block) and newcomer.test.mjs (builds an app
// from the Next.js guide's files). No tests here.

/** The ```ts / ```tsx blocks of a Markdown file (fences may be indented, e.g. inside a list item). */
export function typeScriptBlocks(markdown) {
  const blocks = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(ts|tsx|typescript)\s*$/.exec(lines[i]);
    if (!open) continue;
    const indent = open[1].length;
    const body = [];
    let j = i + 1;
    for (; j < lines.length && !/^\s*```\s*$/.test(lines[j]); j++) body.push(lines[j].slice(Math.min(indent, lines[j].search(/\S|$/))));
    blocks.push({ line: i + 1, lang: open[2], code: body.join("\n") + "\n" });
    i = j;
  }
  return blocks;
}

/** The blocks whose first line is a comment naming a file (`// app/guilds/layout.tsx`): [{ name, code, line }]. */
export function namedFiles(blocks) {
  return blocks.flatMap((b) => {
    const named = /^\/\/ ((?:[\w.@[\]-]+\/)*[\w.@[\]-]+\.tsx?)\b/.exec(b.code);
    return named ? [{ name: named[1], code: b.code, line: b.line }] : [];
  });
}
