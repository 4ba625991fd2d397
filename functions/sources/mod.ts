/** The live sources of the runtime's configuration: the config file, reloaded on change. */
export * from "./config_file.ts";
export * from "./operator_resources.ts";
export * from "./mapping_status.ts";
