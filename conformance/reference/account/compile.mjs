// Compile Solidity standard-JSON jobs with solc-js, offline (used by build.py).
//
//   node compile.mjs [job.json] [--out result.json]      (the job is read from stdin without a path)
//
// job    = {"jobs": [{"id": str, "input": <solc standard-JSON input>}, ...]}
// result = {"solcVersion": str, "results": [{"id": str, "output": <solc standard-JSON output>,
//           "imports": {sourceUnitName: sha256 hex}}, ...]}
//
// Imports that are not among a job's sources (@openzeppelin/..., @account-abstraction/...) are
// read from the nearest node_modules above this script. solc is loaded once for all jobs.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

function findNodeModules(start) {
  let dir = start;
  for (;;) {
    const candidate = path.join(dir, "node_modules");
    if (existsSync(path.join(candidate, "solc", "package.json"))) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error("node_modules/solc not found above " + start);
    dir = parent;
  }
}

function parseArgs(argv) {
  const args = { job: null, out: null };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--out") args.out = argv[++i];
    else if (args.job === null) args.job = argv[i];
    else throw new Error("unexpected argument: " + argv[i]);
  }
  return args;
}

function importResolver(nodeModules, imports) {
  return (unitName) => {
    if (!unitName.startsWith("@") || unitName.includes("..")) {
      return { error: "not found (only @scope/... imports resolve from node_modules): " + unitName };
    }
    const file = path.join(nodeModules, unitName);
    if (!existsSync(file)) return { error: "not found in node_modules: " + unitName };
    const contents = readFileSync(file, "utf8");
    imports[unitName] = createHash("sha256").update(contents, "utf8").digest("hex");
    return { contents };
  };
}

function main() {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const nodeModules = findNodeModules(here);
  const solc = createRequire(path.join(nodeModules, "noop.js"))("solc");
  const args = parseArgs(process.argv.slice(2));
  const text = readFileSync(args.job ?? 0, "utf8");
  const job = JSON.parse(text);
  const results = [];
  for (const { id, input } of job.jobs) {
    const imports = {};
    const raw = solc.compile(JSON.stringify(input), { import: importResolver(nodeModules, imports) });
    results.push({ id, output: JSON.parse(raw), imports });
  }
  const result = JSON.stringify({ solcVersion: solc.version(), results });
  if (args.out) writeFileSync(args.out, result);
  else process.stdout.write(result);
}

main();
