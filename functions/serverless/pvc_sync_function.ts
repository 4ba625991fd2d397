/** The pvc-sync function alone: `deno serve -A functions/serverless/pvc_sync_function.ts` (config from the environment). */
import { operationFunction } from "./operation_function.ts";

export default operationFunction("pvc-sync") satisfies Deno.ServeDefaultExport;
