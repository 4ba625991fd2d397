/** The stage function alone: `deno serve -A functions/serverless/stage_function.ts` (config from the environment). */
import { operationFunction } from "./operation_function.ts";

export default operationFunction("stage") satisfies Deno.ServeDefaultExport;
