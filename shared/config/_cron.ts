import { Cron } from "croner";
import { detail } from "./_text.ts";

/**
 * Why a cron expression is not usable, or `undefined` when it is. Accepted: 5 fields (minute hour
 * day-of-month month day-of-week), the form Deno.cron runs; seconds, nicknames such as `@hourly`
 * and year fields are refused.
 */
export function cronProblem(expression: string): string | undefined {
  const fields = expression.trim().split(/\s+/).filter((field) => field !== "");
  if (fields.length !== 5) {
    return `expected 5 fields (minute hour day-of-month month day-of-week), got ${fields.length}`;
  }
  if (fields.some((field) => field.includes("?"))) return `"?" is not supported: use "*"`;
  let cron: Cron;
  try {
    cron = new Cron(fields.join(" "), { paused: true, mode: "5-part" });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return detail(message.replace(/^CronPattern: /, "").replace(/\.$/, ""));
  }
  if (cron.nextRun() === null) return "it never runs";
  return undefined;
}

/** The expression with surrounding blanks removed and fields separated by one space. */
export function normalizeCron(expression: string): string {
  return expression.trim().split(/\s+/).join(" ");
}
