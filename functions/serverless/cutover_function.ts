/** The cutover function alone: `deno serve -A functions/serverless/cutover_function.ts` (config from the environment). */
import { operationFunction } from "./operation_function.ts";

export default operationFunction("cutover") satisfies Deno.ServeDefaultExport;
