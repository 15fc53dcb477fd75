export { startWatcher, type WatcherOptions } from './watcher.js';
export { scanSpool, admissibleFile, isCandidate } from './spool.js';
export { startS3Source, parseS3Uri, s3ClientConfigFromEnv, escapeKey, type S3Source, type S3SourceOptions, type S3PollStats } from './s3-source.js';
