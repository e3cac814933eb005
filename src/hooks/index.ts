// The hooks domain's public surface.
export * from "./schema";
export { HookErrors, HookService } from "./service";
export { installHooks, uninstallHooks } from "./settings-file";
