// Writes openapi.json from the route schemas (run: npm run openapi). A test fails when it drifts.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildOpenApi } from "./openapi-doc";

const file = join(import.meta.dirname, "..", "openapi.json");
writeFileSync(file, await buildOpenApi());
process.stdout.write(`wrote ${file}\n`);
