/** The cutover function alone: `deno serve -A functions/http/cutover_function.ts` (config from DR_SYNCER_CONFIG). */
import { operationFunction } from "./operation_function.ts";

export default operationFunction("cutover") satisfies Deno.ServeDefaultExport;
