/**
 * Untrusted text input (config files, kubeconfigs): bounded reads, YAML parsed in linear time with
 * alias bombs refused, and error output of bounded size.
 */
export * from "./read_text_input.ts";
export * from "./parse_yaml_input.ts";
