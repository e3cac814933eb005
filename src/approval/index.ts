// The approval domain's public surface.
export * from "./events";
export * from "./schema";
export { approvalStore } from "./store";
