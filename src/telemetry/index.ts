// The telemetry domain's public surface: OpenTelemetry tracing for one app instance.
export { createTelemetry, type Telemetry, type TelemetryConfig, tracesUrl } from "./tracing";
