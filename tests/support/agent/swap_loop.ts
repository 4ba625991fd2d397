/**
 * A tenant racing the agent: swaps the folder FOLDER for a symlink to TARGET and back, again and again, until
 * SIGTERM, then puts the folder back and prints the number of swaps. Run as its own process (real
 * concurrency with the rsync processes it races):
 *
 *   deno run --allow-read --allow-write tests/support/agent/swap_loop.ts FOLDER TARGET
 */
const [folderArg, targetArg] = Deno.args;
if (folderArg === undefined || targetArg === undefined) {
  throw new Error("usage: swap_loop.ts FOLDER TARGET");
}
const folder: string = folderArg;
const target: string = targetArg;
const aside = `${folder}.aside`;
let stop = false;
Deno.addSignalListener("SIGTERM", () => stop = true);

function quietly(fn: () => void): void {
  try {
    fn();
  } catch {
    // rsync changed the folder under us (deleted our link, made a folder): go on
  }
}

/** The real folder back in place; whatever rsync left at its name goes. */
function restore(): void {
  try {
    Deno.lstatSync(aside);
  } catch {
    return;
  }
  quietly(() => Deno.removeSync(folder, { recursive: true }));
  quietly(() => Deno.renameSync(aside, folder));
}

let swaps = 0;
while (!stop) {
  for (let i = 0; i < 20; i++) {
    quietly(() => Deno.renameSync(folder, aside));
    quietly(() => Deno.symlinkSync(target, folder));
    swaps++;
    // leave the link in place a moment: long enough for rsync to open a path through it
    const until = performance.now() + 0.5;
    while (performance.now() < until) { /* spin */ }
    restore();
  }
  await new Promise((resolve) => setTimeout(resolve, 1));
}
restore();
Deno.stdout.writeSync(new TextEncoder().encode(`${swaps}\n`));
