// Policy events.
import { z } from "zod";
import { defineEvent } from "../core/events";
import { PolicyScopeSchema } from "./schema";

export const PolicyUpdated = defineEvent(
  "policy.updated",
  z.object({
    scope: PolicyScopeSchema,
    version: z.number().int().positive(),
    /** True when this version removes the scope's policy. */
    removed: z.boolean(),
    rules: z.number().int().min(0),
  }),
);
