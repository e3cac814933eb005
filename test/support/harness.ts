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
