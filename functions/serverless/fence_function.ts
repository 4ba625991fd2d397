/** The fence function alone: `deno serve -A functions/serverless/fence_function.ts` (config from the environment). */
import { operationFunction } from "./operation_function.ts";

export default operationFunction("fence") satisfies Deno.ServeDefaultExport;
