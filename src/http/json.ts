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
};

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
    parse(req, body.toString(), (err: Error | null, value?: unknown) => {
      if (err) return done(err, undefined);
      if (depthOf(value) > MAX_JSON_DEPTH) return done(JsonErrors.tooDeep(), undefined);
      done(null, value);
    });
  });
}
