/** What this package uses from @ingest/shared (one place to change if the shared API moves). */
export {
  ENTITY_KINDS,
  isEntityKind,
  documentId,
  globalEntityId,
  scopedEntityId,
  normaliseName,
} from '@ingest/shared';
export type { EntityKind, EntityRecord, MentionRecord, ReferenceRecord, SectionRecord, StepRecord } from '@ingest/shared';
