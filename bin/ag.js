#!/usr/bin/env node
// The `ag` command: runs the TypeScript sources through tsx on Node 22 or newer.
const major = Number(process.versions.node.split(".")[0]);
if (major < 22) {
  process.stderr.write(
    `ag: Node ${process.versions.node} is too old; Aegis needs Node 22 or newer. ` +
      "Run it through npm (npm start / npx ag), which uses the Node pinned in the project, or install Node 22+.\n",
  );
  process.exit(2);
}
const { register } = await import("tsx/esm/api");
register();
await import("../src/cli/main.ts");
