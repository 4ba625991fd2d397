/** The runtime's Prometheus metrics. */
export * from "./runtime_metrics.ts";
