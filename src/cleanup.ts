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
