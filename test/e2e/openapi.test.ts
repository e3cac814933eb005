// The committed openapi.json is the one the route schemas generate, and the server serves it.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildOpenApi } from "../../scripts/openapi-doc";
import { startAegis, type TestAegis } from "../support/aegis";

let aegis: TestAegis;
beforeAll(async () => {
  aegis = await startAegis("http://127.0.0.1:9");
});
afterAll(async () => {
  await aegis?.close();
});

describe("OpenAPI", () => {
  it("the committed openapi.json matches the route schemas (run `npm run openapi` after changing routes)", async () => {
    const committed = readFileSync(join(import.meta.dirname, "..", "..", "openapi.json"), "utf8");
    expect(committed).toBe(await buildOpenApi());
  });

  it("serves the document at /v1/openapi.json with resource.verb operation ids", async () => {
    const res = await aegis.api<Record<string, any>>("GET", "/v1/openapi.json");
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe("3.1.0");
    const ops = Object.values(res.body.paths as Record<string, Record<string, { operationId: string }>>).flatMap((p) =>
      Object.values(p).map((o) => o.operationId),
    );
    expect(ops).toContain("session.create");
    for (const op of ops) expect(op).toMatch(/^[a-z]+\.[a-z]+$/);
    expect(new Set(ops).size).toBe(ops.length);
    expect(res.body.paths["/v1/sessions"].post.requestBody.content["application/json"].schema.required).toEqual([
      "workDir",
    ]);
  });

  it("serves a docs UI at /docs", async () => {
    const res = await fetch(`${aegis.url}/docs`, { redirect: "follow" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    expect(await res.text()).toContain("/v1/openapi.json");
  });
});
