/**
 * Everything ndist creates (containers, temporary directories) registers how to remove it here,
 * so that an interrupt can remove what is still there before the process exits.
 */
type Cleanup = () => Promise<unknown>;

const pending = new Set<Cleanup>();

/** Register `cleanup`; the returned function runs it once and unregisters it. */
export function registerCleanup(cleanup: Cleanup): () => Promise<void> {
  pending.add(cleanup);
  return async () => {
    if (!pending.delete(cleanup)) return;
    await cleanup();
  };
}

/** Run every registered cleanup, each once, whatever the others do. */
export async function runAllCleanups(): Promise<void> {
  const all = [...pending];
  pending.clear();
  await Promise.allSettled(all.map(async (cleanup) => cleanup()));
}

const EXIT_CODES: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

/**
 * Until the returned function is called, on Ctrl-C, SIGTERM or SIGHUP (the terminal closed):
 * `stop` (stop the display, close the logs), then remove every container, temporary directory and
 * partial file still registered, and exit 130, 143 or 129. A second signal exits at once.
 */
export function removeAllOnSignal(stop: (signal: NodeJS.Signals) => void = () => undefined): () => void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    const code = EXIT_CODES[signal] ?? 1;
    if (stopping) process.exit(code);
    stopping = true;
    try {
      stop(signal);
    } finally {
      process.stderr.write(`\nndist: ${signal} received, removing containers and temporary files… (again to exit at once)\n`);
      void runAllCleanups().finally(() => process.exit(code));
    }
  };
  const signals = Object.keys(EXIT_CODES) as NodeJS.Signals[];
  for (const signal of signals) process.on(signal, handler);
  return () => {
    for (const signal of signals) process.off(signal, handler);
  };
}
