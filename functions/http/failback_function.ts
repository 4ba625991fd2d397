/** The failback function alone: `deno serve -A functions/http/failback_function.ts` (config from DR_SYNCER_CONFIG). */
import { operationFunction } from "./operation_function.ts";

export default operationFunction("failback") satisfies Deno.ServeDefaultExport;
