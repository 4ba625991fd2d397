/** The operations deployed one by one as functions for a serverless Deno host (`deno serve`). */
export * from "./operation_function.ts";
