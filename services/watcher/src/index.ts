export { startWatcher, type Watcher, type WatcherOptions } from './watcher.js';
export { scanSpool, admissibleFile, isCandidate } from './spool.js';
export { startS3Source, parseS3Uri, s3ClientConfigFromEnv, escapeKey, type S3Source, type S3SourceOptions, type S3PollStats } from './s3-source.js';
export { startHttpSource, type HttpSource, type HttpSourceOptions, type HttpPollStats } from './http-source.js';
export { decideAddress, guardedFetch, allowListFrom, parseAllowList, normaliseHost, type AllowList, type Decision } from './ssrf.js';
