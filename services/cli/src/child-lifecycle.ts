/**
 * How a child process of `ingestctl up --processes` ends: on SIGTERM/SIGINT, or when its parent goes
 * away however it died (the IPC channel closes), it runs `close` once and exits — within `budgetMs`, or
 * with code 1. The channel itself must not keep the process alive.
 */
export function stopWithParent(close: () => Promise<void>, budgetMs = 20_000): void {
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(1), budgetMs).unref();
    await close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  process.once('disconnect', () => void stop());
  process.channel?.unref();
}
