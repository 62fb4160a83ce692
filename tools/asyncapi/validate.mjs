// Parses AsyncAPI documents with the reference parser: `node validate.mjs <file>...`.
// Prints every diagnostic; exits 1 when a document has an error-level one (or does not parse at all),
// so a document that tools built on this parser would reject fails the build here first.
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

import { DiagnosticSeverity, Parser } from "@asyncapi/parser";

const SEVERITY = { 0: "error", 1: "warning", 2: "info", 3: "hint" };

async function check(file) {
  const path = resolve(file);
  const parser = new Parser();
  // `source` lets relative $refs (if any) resolve against the file, and names it in diagnostics.
  const { document, diagnostics } = await parser.parse(await readFile(path, "utf8"), {
    source: pathToFileURL(path).href,
  });
  const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error);
  for (const d of diagnostics) {
    const where = d.path && d.path.length ? `#/${d.path.join("/")}` : "#";
    const line = `${file}: ${SEVERITY[d.severity] ?? d.severity}: ${d.code}: ${d.message} (at ${where})`;
    (d.severity === DiagnosticSeverity.Error ? console.error : console.log)(line);
  }
  if (document === undefined && errors.length === 0) {
    console.error(`${file}: error: the parser returned no document`);
    return false;
  }
  return errors.length === 0;
}

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node validate.mjs <asyncapi.json>...");
  process.exit(2);
}
let ok = true;
for (const file of files) {
  ok = (await check(file)) && ok;
}
if (ok) console.log(`${files.join(", ")}: valid AsyncAPI`);
process.exit(ok ? 0 : 1);
