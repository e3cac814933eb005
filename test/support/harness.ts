// The usual e2e setup: a scripted model server and an Aegis server in front of it for the whole
// file, closed afterwards. The callback hands both to the file's own variables.
import { afterAll, beforeAll } from "vitest";
import { startAegis, type TestAegis } from "./aegis";
import { type ModelServer, startModelServer } from "./model-server";

export function useAegis(
  bind: (model: ModelServer, aegis: TestAegis) => void,
  overrides: Record<string, unknown> = {},
  claudeExtra: Record<string, string> = {},
): void {
  let model: ModelServer | undefined;
  let aegis: TestAegis | undefined;
  beforeAll(async () => {
    model = await startModelServer();
    aegis = await startAegis(model.url, overrides, claudeExtra);
    bind(model, aegis);
  });
  afterAll(async () => {
    await aegis?.close();
    await model?.close();
  });
}

/**
 * One scripted model server for the file and as many Aegis servers in front of it as the tests
 * start (each with its own settings); all are closed afterwards. Returns the server starter.
 */
export function useModelForServers(
  bind: (model: ModelServer) => void,
): (overrides?: Record<string, unknown>, claudeExtra?: Record<string, string>) => Promise<TestAegis> {
  let model: ModelServer | undefined;
  const servers: TestAegis[] = [];
  beforeAll(async () => {
    model = await startModelServer();
    bind(model);
  });
  afterAll(async () => {
    for (const s of servers) await s.close();
    await model?.close();
  });
  return async (overrides = {}, claudeExtra = {}) => {
    if (!model) throw new Error("the model server starts in beforeAll");
    const a = await startAegis(model.url, overrides, claudeExtra);
    servers.push(a);
    return a;
  };
}
