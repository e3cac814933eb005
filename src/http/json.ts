// The JSON body parser: Fastify's own (prototype-poisoning refused), plus a nesting limit, so no
// handler ever walks a body thousands of levels deep.
import type { FastifyInstance } from "fastify";
import { defineError } from "../core/errors";

/** Far deeper than any request of this API (tool inputs included). */
export const MAX_JSON_DEPTH = 64;

export const JsonErrors = {
  tooDeep: defineError(
    "BODY_TOO_DEEP",
    400,
    `The JSON body nests objects or arrays more than ${MAX_JSON_DEPTH} levels deep; flatten it.`,
  ),
  invalid: defineError("INVALID_JSON", 400, "The body is not valid JSON."),
  forbiddenKey: defineError(
    "INVALID_JSON",
    400,
    "The body uses __proto__ or constructor.prototype as a key, which this API refuses; rename the key.",
  ),
};

/** Whether `text` is JSON by the plain parser's standard. */
function plainJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** How deep `value` nests, counted without recursion, and never past `limit + 1`. */
export function depthOf(value: unknown, limit = MAX_JSON_DEPTH): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop() as [unknown, number];
    if (v === null || typeof v !== "object") continue;
    const depth = d + 1;
    if (depth > max) max = depth;
    if (max > limit) return max;
    for (const child of Object.values(v)) stack.push([child, depth]);
  }
  return max;
}

export function registerJsonParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (req, body, done) => {
    const text = body.toString();
    parse(req, text, (err: Error | null, value?: unknown) => {
      // Fastify refuses prototype-poisoning keys with the same error as broken JSON: tell them apart.
      if (err) return done(plainJson(text) ? JsonErrors.forbiddenKey() : JsonErrors.invalid(), undefined);
      if (depthOf(value) > MAX_JSON_DEPTH) return done(JsonErrors.tooDeep(), undefined);
      done(null, value);
    });
  });
}
