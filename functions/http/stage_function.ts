/** The stage function alone: `deno serve -A functions/http/stage_function.ts` (config from DR_SYNCER_CONFIG). */
import { operationFunction } from "./operation_function.ts";

export default operationFunction("stage") satisfies Deno.ServeDefaultExport;
