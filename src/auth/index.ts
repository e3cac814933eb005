// The auth domain's public surface.
export * from "./access";
export { AuthErrors } from "./errors";
export { KeyRevoked, revokedKeyOf } from "./events";
export * from "./permissions";
export * from "./schema";
export { AuthService, BOOTSTRAP_PRINCIPAL } from "./service";
export { SseTokens } from "./sse-tokens";
export { loadServerSecret } from "./tokens";
