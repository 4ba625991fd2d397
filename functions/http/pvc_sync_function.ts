/** The pvc-sync function alone: `deno serve -A functions/http/pvc_sync_function.ts` (config from DR_SYNCER_CONFIG). */
import { operationFunction } from "./operation_function.ts";

export default operationFunction("pvc-sync") satisfies Deno.ServeDefaultExport;
