// The analytics domain's public surface.
export * from "./schema";
export { AnalyticsService } from "./service";
