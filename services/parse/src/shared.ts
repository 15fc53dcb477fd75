/**
 * The one place this package reaches into @ingest/shared. Deliberately by relative path to the three
 * leaf modules rather than the package index: this code also runs in parse worker threads, and the index
 * would load BullMQ, ioredis, LanceDB and LadybugDB (native addons) into every thread and its heap limit.
 * Same files as the index re-exports, so `instanceof PermanentError` holds across both import paths.
 */
export { documentId, sectionId, sectionPartId, sha256Hex, normaliseText } from '../../../shared/src/ids/ids.js';
export { PermanentError, RetryableError, PipelineError, ErrorCode } from '../../../shared/src/errors/errors.js';
export type { SectionRecord } from '../../../shared/src/domain/model.js';
