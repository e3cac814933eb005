// The model gateway's public surface, and the decision whether sessions run behind it.
import { ConfigError } from "../config/load";
import type { Config } from "../config/schema";
import { hasBudgets } from "./budgets";
import { resolveUpstream, type Upstream } from "./upstream";

export { anthropicErrorBody, GatewayErrors } from "./errors";
export * from "./events";
export { costOf, isPriced, modelKey } from "./prices";
export { ForwardedBody } from "./request-body";
export type { GatewayAnswer, GatewayRequest, SessionModelPath } from "./service";
export { ModelGateway } from "./service";
export type { ModelRequestsTable, ModelRequestsTables } from "./store";

/**
 * Where the gateway forwards, when it is enabled and has upstream credentials to use; otherwise null
 * with the reason (sessions then talk to the model API directly). Budgets need the gateway, so
 * configuring budgets without one is refused at startup rather than silently not enforced.
 */
export function gatewayUpstream(
  config: Config,
  env: NodeJS.ProcessEnv = process.env,
): { upstream: Upstream; reason: null } | { upstream: null; reason: string } {
  const resolved = config.gateway.enabled
    ? resolveUpstream(config, env)
    : { upstream: null, reason: "gateway.enabled is false" };
  if (resolved.upstream !== null) return { upstream: resolved.upstream, reason: null };
  if (hasBudgets(config.budgets)) {
    throw new ConfigError(
      `Budgets are configured but the model gateway is off (${resolved.reason}); budgets are enforced only by the gateway. Enable it with upstream credentials, or remove the budgets.`,
    );
  }
  return { upstream: null, reason: resolved.reason };
}

/** The URL a local Claude Code process reaches the server at, from the address it listens on. */
export function localUrlOf(address: string | { address: string; port: number; family: string } | null): string {
  if (address === null || typeof address === "string") throw new Error("the server does not listen on a TCP port");
  const wildcard = address.address === "0.0.0.0" || address.address === "::";
  const host = wildcard ? "127.0.0.1" : address.family === "IPv6" ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}
