/** The failback function alone: `deno serve -A functions/serverless/failback_function.ts` (config from the environment). */
import { operationFunction } from "./operation_function.ts";

export default operationFunction("failback") satisfies Deno.ServeDefaultExport;
