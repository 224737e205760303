// Compiles a solc standard-JSON input read from stdin with the JavaScript solc build pinned in
// package.json (no compiler download at run time) and prints the standard-JSON output.
// Imports of OpenZeppelin resolve to the npm package pinned beside it: trusted-pods imports it
// as "../lib/openzeppelin-contracts/contracts/..." (a git submodule), the npm package ships the
// same tree under contracts/.
const fs = require("fs");
const path = require("path");
const solc = require("solc");

const OZ = path.join(__dirname, "node_modules", "@openzeppelin", "contracts");
const PREFIXES = ["lib/openzeppelin-contracts/contracts/", "@openzeppelin/contracts/"];

function findImports(name) {
  for (const prefix of PREFIXES) {
    if (name.startsWith(prefix)) {
      return { contents: fs.readFileSync(path.join(OZ, name.slice(prefix.length)), "utf8") };
    }
  }
  return { error: `not found: ${name}` };
}

const input = fs.readFileSync(0, "utf8");
process.stdout.write(solc.compile(input, { import: findImports }));
