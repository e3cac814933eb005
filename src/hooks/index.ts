// The hooks domain's public surface.
export * from "./schema";
export { HookErrors, type HookOrigin, HookService } from "./service";
export { checkHooksFile, installHooks, uninstallHooks } from "./settings-file";
export { permissionHoldMs } from "./timeout";
