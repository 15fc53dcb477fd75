export { startWatcher, type WatcherOptions } from './watcher.js';
export { scanSpool, admissibleFile, isCandidate } from './spool.js';
