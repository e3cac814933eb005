// Builds the OpenAPI document of a server that is wired but never started.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApp } from "../src/app";
import { loadConfig } from "../src/config/load";
import { createLogger } from "../src/core/log";

export async function buildOpenApi(): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), "aegis-openapi-"));
  try {
    const { config } = loadConfig({ env: { AEGIS_HOME: dataDir } });
    const app = await createApp({ config, logger: createLogger("silent") });
    await app.http.ready();
    const doc = app.http.swagger();
    await app.close();
    return `${JSON.stringify(doc, null, 2)}\n`;
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
