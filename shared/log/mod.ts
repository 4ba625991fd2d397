export * from "./logger.ts";
export * from "./redact_secrets.ts";
