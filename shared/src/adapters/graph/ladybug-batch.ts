/**
 * Pure part of the LadybugDB writer: checks a GraphDocumentVersion (bad input is a PermanentError before
 * it can reach a shared transaction) and merges the versions of one group commit into one set of rows per
 * statement, de-duplicated by id and by edge so that CREATE after DELETE never doubles an edge.
 */
import { isEntityKind, type EntityKind, type GraphDocumentVersion } from '../../domain/model.js';
import { ErrorCode, PermanentError } from '../../errors/errors.js';
import type { GraphWriteResult } from '../../ports/graph-store.js';

export interface DocumentRow {
  id: string;
  sourceUri: string;
  tag: string;
  title: string;
  checksum: string;
  generation: number;
  contentType: string;
  updatedAt: string;
}
export interface SectionRow {
  id: string;
  documentId: string;
  ordinal: number;
  level: number;
  title: string;
  headingPath: string[];
  anchor: string;
  text: string;
  tokenCount: number;
  contentHash: string;
  generation: number;
}
export interface EntityRow {
  id: string;
  kind: EntityKind;
  name: string;
}
export interface EdgeRow {
  from: string;
  to: string;
}
export interface MentionRow extends EdgeRow {
  count: number;
}
export interface StepRow extends EdgeRow {
  /** Not `order`: that is a keyword Ladybug will not accept after `r.`. */
  stepOrder: number;
}

/** One checked version, ready to merge into a batch. */
export interface CheckedVersion {
  readonly documentId: string;
  readonly generation: number;
  readonly document: DocumentRow;
  readonly sections: SectionRow[];
  readonly entities: EntityRow[];
  readonly mentions: MentionRow[];
  readonly steps: StepRow[];
  readonly nextChunks: EdgeRow[];
  readonly subsections: EdgeRow[];
  readonly documentReferences: EdgeRow[];
  readonly sectionReferences: EdgeRow[];
  /** Procedures whose HAS_STEP this version rewrites. */
  readonly procedureIds: string[];
  /** Rows this version adds to a group commit (SingleWriter batch sizing). */
  readonly rows: number;
  readonly result: GraphWriteResult;
}

/** The rows of one transaction, merged over the applicable versions of a batch. */
export interface BatchRows {
  documents: DocumentRow[];
  /** Sections whose outgoing edges are replaced: those of documents already stored (new ones have none). */
  replacedSectionIds: string[];
  /** Sections of stored documents: updated where they exist, created where not (the store reads which). */
  sectionsOfStoredDocuments: SectionRow[];
  /** Sections of new documents: created without asking. */
  createdSections: SectionRow[];
  entities: EntityRow[];
  procedureIds: string[];
  mentions: MentionRow[];
  steps: StepRow[];
  nextChunks: EdgeRow[];
  subsections: EdgeRow[];
  documentReferences: EdgeRow[];
  sectionReferences: EdgeRow[];
}

const invalid = (message: string): PermanentError => new PermanentError(ErrorCode.PayloadInvalid, message);

function text(value: unknown, what: string, nonEmpty = false): string {
  if (typeof value !== 'string') throw invalid(`${what} must be a string`);
  if (nonEmpty && value.length === 0) throw invalid(`${what} must not be empty`);
  return value;
}

function integer(value: unknown, what: string, min = 0): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw invalid(`${what} must be an integer >= ${min}`);
  }
  return value;
}

const edgeKey = (from: string, to: string): string => `${from}\u0000${to}`;

/** Validates and normalises one version; throws PermanentError(PAYLOAD_INVALID) on bad input. */
export function checkVersion(version: GraphDocumentVersion): CheckedVersion {
  const d = version.document;
  const documentId = text(d?.id, 'document.id', true);
  const generation = integer(d.generation, 'document.generation');
  const document: DocumentRow = {
    id: documentId,
    sourceUri: text(d.sourceUri, 'document.sourceUri'),
    tag: text(d.tag, 'document.tag'),
    title: text(d.title, 'document.title'),
    checksum: text(d.checksum, 'document.checksum'),
    generation,
    contentType: text(d.contentType, 'document.contentType'),
    updatedAt: text(d.updatedAt, 'document.updatedAt'),
  };

  const sections = new Map<string, SectionRow>();
  const parents: EdgeRow[] = [];
  for (const s of version.sections) {
    const id = text(s.id, 'section.id', true);
    if (sections.has(id)) throw invalid(`section ${id} appears twice in the version`);
    if (s.documentId !== documentId) throw invalid(`section ${id} belongs to another document`);
    if (!Array.isArray(s.headingPath)) throw invalid(`section ${id}: headingPath must be an array`);
    sections.set(id, {
      id,
      documentId,
      ordinal: integer(s.ordinal, `section ${id}: ordinal`),
      level: integer(s.level, `section ${id}: level`),
      title: text(s.title, `section ${id}: title`),
      headingPath: s.headingPath.map((h, i) => text(h, `section ${id}: headingPath[${i}]`)),
      anchor: text(s.anchor, `section ${id}: anchor`),
      text: text(s.text, `section ${id}: text`),
      tokenCount: integer(s.tokenCount, `section ${id}: tokenCount`),
      contentHash: text(s.contentHash, `section ${id}: contentHash`, true),
      generation,
    });
    if (s.parentId !== null) {
      const parent = text(s.parentId, `section ${id}: parentId`, true);
      if (parent === id) throw invalid(`section ${id} is its own parent`);
      parents.push({ from: parent, to: id });
    }
  }
  const ordered = [...sections.values()].sort((a, b) => a.ordinal - b.ordinal || (a.id < b.id ? -1 : 1));
  const nextChunks = ordered.slice(1).map((s, i) => ({ from: ordered[i]!.id, to: s.id }));

  const entities = new Map<string, EntityRow>();
  for (const e of version.entities) {
    const id = text(e.id, 'entity.id', true);
    // The allowlist: a kind that is not on it never reaches the store.
    if (typeof e.kind !== 'string' || !isEntityKind(e.kind)) throw invalid(`entity ${id}: kind is not on the allowlist`);
    const seen = entities.get(id);
    if (seen && seen.kind !== e.kind) throw invalid(`entity ${id} appears with two kinds`);
    entities.set(id, { id, kind: e.kind, name: text(e.name, `entity ${id}: name`) });
  }

  const mentions = new Map<string, MentionRow>();
  for (const m of version.mentions) {
    if (!sections.has(m.sectionId)) throw invalid(`mention from section ${String(m.sectionId)} not in this version`);
    if (!entities.has(m.entityId)) throw invalid(`mention of entity ${String(m.entityId)} not in this version`);
    const count = integer(m.count, `mention ${m.sectionId}→${m.entityId}: count`);
    const key = edgeKey(m.sectionId, m.entityId);
    const seen = mentions.get(key);
    mentions.set(key, { from: m.sectionId, to: m.entityId, count: (seen?.count ?? 0) + count });
  }

  const steps = new Map<string, StepRow>();
  for (const st of version.steps) {
    if (entities.get(st.procedureId)?.kind !== 'Procedure') throw invalid(`step of ${String(st.procedureId)}: not a Procedure of this version`);
    if (entities.get(st.stepId)?.kind !== 'Step') throw invalid(`step ${String(st.stepId)}: not a Step of this version`);
    const order = integer(st.order, `step ${st.stepId}: order`);
    steps.set(edgeKey(st.procedureId, st.stepId), { from: st.procedureId, to: st.stepId, stepOrder: order });
  }
  const procedureIds = [...entities.values()].filter((e) => e.kind === 'Procedure').map((e) => e.id);

  const documentReferences = new Map<string, EdgeRow>();
  const sectionReferences = new Map<string, EdgeRow>();
  for (const r of version.references) {
    if (!sections.has(r.sectionId)) throw invalid(`reference from section ${String(r.sectionId)} not in this version`);
    const to = text(r.targetId, 'reference.targetId', true);
    const into = r.targetKind === 'Document' ? documentReferences : r.targetKind === 'Section' ? sectionReferences : null;
    if (!into) throw invalid('reference.targetKind must be Document or Section');
    into.set(edgeKey(r.sectionId, to), { from: r.sectionId, to });
  }

  const result: GraphWriteResult = {
    applied: true,
    sectionsWritten: sections.size,
    entitiesWritten: entities.size,
    mentionsWritten: mentions.size,
  };
  return {
    documentId,
    generation,
    document,
    sections: [...sections.values()],
    entities: [...entities.values()],
    mentions: [...mentions.values()],
    steps: [...steps.values()],
    nextChunks,
    subsections: parents,
    documentReferences: [...documentReferences.values()],
    sectionReferences: [...sectionReferences.values()],
    procedureIds,
    rows: 1 + sections.size + entities.size + mentions.size + steps.size + documentReferences.size + sectionReferences.size,
    result,
  };
}

export const REFUSED: GraphWriteResult = Object.freeze({
  applied: false,
  sectionsWritten: 0,
  entitiesWritten: 0,
  mentionsWritten: 0,
});

/** Index of the version that wins for each document: highest generation, the later one on a tie. */
export function winnersByDocument(versions: readonly CheckedVersion[]): Map<string, number> {
  const winners = new Map<string, number>();
  versions.forEach((v, i) => {
    const w = winners.get(v.documentId);
    if (w === undefined || versions[w]!.generation <= v.generation) winners.set(v.documentId, i);
  });
  return winners;
}

function uniqueBy<T>(rows: Iterable<T>, key: (row: T) => string): T[] {
  const out = new Map<string, T>();
  for (const row of rows) out.set(key(row), row);
  return [...out.values()];
}

/**
 * Merges versions (one per document) into the rows of one transaction; later versions win on shared ids.
 * `stored` tells which documents exist already: a section id derives from its document id, so the sections
 * of a document not stored yet have no edges to replace, which spares the first load its deletes.
 */
export function mergeRows(versions: readonly CheckedVersion[], stored: ReadonlySet<string>): BatchRows {
  const edge = (r: EdgeRow): string => edgeKey(r.from, r.to);
  const sectionsOf = (known: boolean): SectionRow[] =>
    uniqueBy(versions.filter((v) => stored.has(v.documentId) === known).flatMap((v) => v.sections), (s) => s.id);
  const sectionsOfStoredDocuments = sectionsOf(true);
  return {
    documents: versions.map((v) => v.document),
    replacedSectionIds: sectionsOfStoredDocuments.map((s) => s.id),
    sectionsOfStoredDocuments,
    createdSections: sectionsOf(false),
    entities: uniqueBy(versions.flatMap((v) => v.entities), (e) => e.id),
    procedureIds: [...new Set(versions.flatMap((v) => [...v.procedureIds, ...v.steps.map((s) => s.from)]))],
    mentions: uniqueBy(versions.flatMap((v) => v.mentions), edge),
    steps: uniqueBy(versions.flatMap((v) => v.steps), edge),
    nextChunks: uniqueBy(versions.flatMap((v) => v.nextChunks), edge),
    subsections: uniqueBy(versions.flatMap((v) => v.subsections), (r) => r.to),
    documentReferences: uniqueBy(versions.flatMap((v) => v.documentReferences), edge),
    sectionReferences: uniqueBy(versions.flatMap((v) => v.sectionReferences), edge),
  };
}

/** Rows split by whether their id is in `stored`. */
export function partitionByStored<T extends { readonly id: string }>(rows: readonly T[], stored: ReadonlySet<string>): { stored: T[]; fresh: T[] } {
  const out = { stored: [] as T[], fresh: [] as T[] };
  for (const r of rows) (stored.has(r.id) ? out.stored : out.fresh).push(r);
  return out;
}

/**
 * Entity writes given what is stored: entities not stored yet are created; stored ones are written again
 * only when this batch gives them another kind or name (ids derive from kind and normalised name, so that
 * is a display name changing), which spares a shared entity a rewrite per document that mentions it.
 */
export function entityWrites(
  rows: readonly EntityRow[], stored: ReadonlyMap<string, { kind: string; name: string }>,
): { create: EntityRow[]; update: EntityRow[] } {
  const out = { create: [] as EntityRow[], update: [] as EntityRow[] };
  for (const r of rows) {
    const s = stored.get(r.id);
    if (!s) out.create.push(r);
    else if (s.kind !== r.kind || s.name !== r.name) out.update.push(r);
  }
  return out;
}

/** One markCompleted call of a grouped transaction. */
export interface Completion {
  readonly documentId: string;
  readonly generation: number;
  readonly pipelineVersion: string;
}

/**
 * The rows a group of markCompleted calls writes, given the stored completed generations (null: never
 * completed; absent: no such document). Applied one by one, each only where it does not lower
 * completed_generation, the calls of one document end in the state its winner (highest generation, the
 * later one on a tie) leaves when it does not lower the stored one; so only that winner is written.
 */
export function completionsToWrite(items: readonly Completion[], stored: ReadonlyMap<string, number | null>): Completion[] {
  const winners = new Map<string, Completion>();
  for (const i of items) {
    const w = winners.get(i.documentId);
    if (stored.has(i.documentId) && (w === undefined || w.generation <= i.generation)) winners.set(i.documentId, i);
  }
  return [...winners.values()].filter((w) => (stored.get(w.documentId) ?? -1) <= w.generation);
}

/** Sections grouped by document: documents with at least `threshold` of them apart, the others' together. */
export function splitBySectionCount(sections: readonly SectionRow[], threshold: number): { large: Map<string, SectionRow[]>; small: SectionRow[] } {
  const byDocument = new Map<string, SectionRow[]>();
  for (const s of sections) {
    const list = byDocument.get(s.documentId);
    if (list) list.push(s);
    else byDocument.set(s.documentId, [s]);
  }
  const large = new Map([...byDocument].filter(([, list]) => list.length >= threshold));
  return { large, small: sections.filter((s) => !large.has(s.documentId)) };
}
