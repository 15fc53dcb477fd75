/**
 * Every Cypher statement the Neo4j graph store sends (DESIGN §5), in one place, so that the unit test
 * (shared/test/unit/neo4j-cypher-lint.test.ts) can lint each of them with Neo4j's own linter and the
 * adapter can refuse to send anything that is not registered here.
 *
 * Rules:
 * - statements are constants; data reaches them only as `$parameters`, each declared in `params`;
 * - labels and relationship types are fixed here; the entity label comes from ENTITY_LABEL, a map from the
 *   ENTITY_KINDS allowlist to a constant label — never from document text;
 * - writes of one document version are `UNWIND $rows` / `UNWIND $ids` batches run in one managed
 *   transaction; deletes that may touch many nodes run in bounded batches (`LIMIT $limit`), one
 *   transaction per batch.
 */
import { ENTITY_KINDS, type EntityKind } from '../../domain/model.js';

export interface Statement {
  /** For logs and metrics; unique. */
  readonly name: string;
  readonly cypher: string;
  /** Exactly the `$parameters` the statement takes; the adapter checks what it sends against this. */
  readonly params: readonly string[];
}

const registry = new Map<string, Statement>();

function statement(name: string, params: readonly string[], cypher: string): Statement {
  if (registry.has(name)) throw new Error(`duplicate Cypher statement name ${name}`);
  const s: Statement = Object.freeze({ name, params: Object.freeze([...params]), cypher: cypher.replace(/\s+/g, ' ').trim() });
  registry.set(name, s);
  return s;
}

/** The label each entity kind gets besides `:Entity`: a constant per kind of the allowlist. */
export const ENTITY_LABEL: Readonly<Record<EntityKind, string>> = Object.freeze({
  Command: 'Command',
  Parameter: 'Parameter',
  Procedure: 'Procedure',
  Step: 'Step',
});
for (const kind of ENTITY_KINDS) {
  if (!/^[A-Z][A-Za-z]{0,30}$/.test(ENTITY_LABEL[kind])) throw new Error(`entity label for ${kind} is not a plain identifier`);
}

/** Labels, relationship types and property keys of the model (the lint schema; DESIGN §5). */
export const GRAPH_MODEL = Object.freeze({
  labels: ['Document', 'Section', 'Chunk', 'Entity', ...ENTITY_KINDS.map((k) => ENTITY_LABEL[k])],
  relationshipTypes: ['FROM_DOCUMENT', 'NEXT_CHUNK', 'HAS_SUBSECTION', 'MENTIONS', 'HAS_STEP', 'REFERENCES'],
  propertyKeys: [
    'id', 'source_uri', 'tag', 'title', 'checksum', 'generation', 'completed_generation', 'pipeline_version',
    'content_type', 'updated_at', 'document_id', 'ordinal', 'level', 'heading_path', 'anchor', 'text',
    'token_count', 'content_hash', 'kind', 'name', 'count', 'order',
  ],
});

/** Idempotent schema statements, run at start (each alone, auto-commit), then waited for. */
export const SCHEMA: readonly Statement[] = [
  statement('constraint.document_id', [], 'CREATE CONSTRAINT document_id IF NOT EXISTS FOR (d:Document) REQUIRE d.id IS UNIQUE'),
  statement('constraint.section_id', [], 'CREATE CONSTRAINT section_id IF NOT EXISTS FOR (s:Section) REQUIRE s.id IS UNIQUE'),
  statement('constraint.entity_id', [], 'CREATE CONSTRAINT entity_id IF NOT EXISTS FOR (e:Entity) REQUIRE e.id IS UNIQUE'),
  statement('index.section_document_id', [], 'CREATE INDEX section_document_id IF NOT EXISTS FOR (s:Section) ON (s.document_id)'),
  statement('index.section_generation', [], 'CREATE INDEX section_generation IF NOT EXISTS FOR (s:Section) ON (s.generation)'),
  statement('index.document_generation', [], 'CREATE INDEX document_generation IF NOT EXISTS FOR (d:Document) ON (d.generation)'),
  statement('index.document_tag', [], 'CREATE INDEX document_tag IF NOT EXISTS FOR (d:Document) ON (d.tag)'),
  statement(
    'index.section_fulltext',
    [],
    'CREATE FULLTEXT INDEX section_fulltext IF NOT EXISTS FOR (s:Section) ON EACH [s.title, s.text]',
  ),
];
/** $seconds: waits until every index is online. */
export const AWAIT_INDEXES = statement('schema.await_indexes', ['seconds'], 'CALL db.awaitIndexes($seconds)');

const DOCUMENT_FIELDS = `d.id AS id, d.source_uri AS sourceUri, d.tag AS tag, d.title AS title, d.checksum AS checksum,
  d.generation AS generation, d.completed_generation AS completedGeneration, d.pipeline_version AS pipelineVersion`;

function upsertEntitiesOf(kind: EntityKind): Statement {
  const label = ENTITY_LABEL[kind];
  // `kind` is written from the same constant as the label: the row's own kind only chose this statement.
  return statement(
    `write.upsert_entities.${kind}`,
    ['rows'],
    `UNWIND $rows AS r MERGE (e:Entity {id: r.id}) SET e:${label}, e.kind = '${kind}', e.name = r.name`,
  );
}

/** writeVersion, in the order the group-commit transaction runs them. */
export const WRITE = {
  /**
   * $ids (sorted): the fence. Takes each Document's write lock (MERGE, then a property write) before its
   * generation is read, so two processes writing one document serialise here; a document not stored yet
   * is created with generation -1, which any version beats, and gets its fields in the same transaction.
   */
  lockDocuments: statement(
    'write.lock_documents',
    ['ids'],
    `UNWIND $ids AS id MERGE (d:Document {id: id}) ON CREATE SET d.generation = -1
     SET d.fence_lock = true REMOVE d.fence_lock
     RETURN d.id AS id, d.generation AS generation`,
  ),
  /** $ids: section ids → HAS_STEP of the procedures those sections mention (before the MENTIONS go). */
  deleteStepsOfMentionedProcedures: statement(
    'write.delete_steps_of_mentioned_procedures',
    ['ids'],
    `UNWIND $ids AS id MATCH (:Section {id: id})-[:MENTIONS]->(p:Entity)-[h:HAS_STEP]->() WHERE p.kind = 'Procedure' DELETE h`,
  ),
  /** $ids: procedure ids whose steps this batch rewrites. */
  deleteStepsOfProcedures: statement(
    'write.delete_steps_of_procedures',
    ['ids'],
    'UNWIND $ids AS id MATCH (:Entity {id: id})-[h:HAS_STEP]->() DELETE h',
  ),
  /** $ids: section ids → every outgoing edge the graph stage replaces. */
  deleteOutgoing: statement(
    'write.delete_outgoing',
    ['ids'],
    'UNWIND $ids AS id MATCH (:Section {id: id})-[r:NEXT_CHUNK|HAS_SUBSECTION|MENTIONS|REFERENCES]->() DELETE r',
  ),
  /** $ids: section ids → their parent edge; a section's parent is whatever its new record says. */
  deleteIncomingParent: statement(
    'write.delete_incoming_parent',
    ['ids'],
    'UNWIND $ids AS id MATCH (:Section)-[r:HAS_SUBSECTION]->(:Section {id: id}) DELETE r',
  ),
  /** $rows: documents; completed_generation and pipeline_version are left as they are. */
  upsertDocuments: statement(
    'write.upsert_documents',
    ['rows'],
    `UNWIND $rows AS r MERGE (d:Document {id: r.id})
     SET d.source_uri = r.sourceUri, d.tag = r.tag, d.title = r.title, d.checksum = r.checksum,
         d.generation = r.generation, d.content_type = r.contentType, d.updated_at = r.updatedAt`,
  ),
  /** $rows: sections (`:Section:Chunk`, so neo4j-graphrag's retrievers work), each with its FROM_DOCUMENT edge. */
  upsertSections: statement(
    'write.upsert_sections',
    ['rows'],
    `UNWIND $rows AS r MATCH (d:Document {id: r.documentId})
     MERGE (s:Section {id: r.id})
     SET s:Chunk, s.document_id = r.documentId, s.ordinal = r.ordinal, s.level = r.level, s.title = r.title,
         s.heading_path = r.headingPath, s.anchor = r.anchor, s.text = r.text, s.token_count = r.tokenCount,
         s.content_hash = r.contentHash, s.generation = r.generation
     MERGE (s)-[:FROM_DOCUMENT]->(d)`,
  ),
  /** $rows per kind: one statement per allowlisted kind, the label fixed in it. */
  upsertEntities: Object.freeze(Object.fromEntries(ENTITY_KINDS.map((k) => [k, upsertEntitiesOf(k)]))) as Readonly<
    Record<EntityKind, Statement>
  >,
  /** Edges are MERGEd: the sources' outgoing edges were deleted above, and MERGE keeps a retry from doubling them. */
  createNextChunk: statement(
    'write.next_chunk',
    ['rows'],
    'UNWIND $rows AS r MATCH (a:Section {id: r.from}) MATCH (b:Section {id: r.to}) MERGE (a)-[:NEXT_CHUNK]->(b)',
  ),
  createSubsection: statement(
    'write.has_subsection',
    ['rows'],
    'UNWIND $rows AS r MATCH (p:Section {id: r.from}) MATCH (c:Section {id: r.to}) MERGE (p)-[:HAS_SUBSECTION]->(c)',
  ),
  createMentions: statement(
    'write.mentions',
    ['rows'],
    `UNWIND $rows AS r MATCH (s:Section {id: r.from}) MATCH (e:Entity {id: r.to})
     MERGE (s)-[m:MENTIONS]->(e) SET m.count = r.count`,
  ),
  createSteps: statement(
    'write.has_step',
    ['rows'],
    `UNWIND $rows AS r MATCH (p:Entity {id: r.from}) MATCH (st:Entity {id: r.to})
     MERGE (p)-[h:HAS_STEP]->(st) SET h.order = r.stepOrder`,
  ),
  /** References are created only when the target node exists (MATCH drops the others). */
  createDocumentReferences: statement(
    'write.references_document',
    ['rows'],
    `UNWIND $rows AS r MATCH (s:Section {id: r.from}) MATCH (d:Document {id: r.to})
     MERGE (s)-[:REFERENCES]->(d)`,
  ),
  createSectionReferences: statement(
    'write.references_section',
    ['rows'],
    'UNWIND $rows AS r MATCH (s:Section {id: r.from}) MATCH (t:Section {id: r.to}) MERGE (s)-[:REFERENCES]->(t)',
  ),
};

/** Deletes in bounded batches (`$limit` per transaction), and the completion mark. */
export const MAINTAIN = {
  /** $documentId, $keep, $limit */
  removeSectionsExcept: statement(
    'maintain.remove_sections_except',
    ['documentId', 'keep', 'limit'],
    `MATCH (s:Section {document_id: $documentId}) WHERE NOT s.id IN $keep
     WITH s LIMIT $limit DETACH DELETE s RETURN count(*) AS n`,
  ),
  /** $documentId, $limit */
  deleteSections: statement(
    'maintain.delete_sections',
    ['documentId', 'limit'],
    'MATCH (s:Section {document_id: $documentId}) WITH s LIMIT $limit DETACH DELETE s RETURN count(*) AS n',
  ),
  /** $documentId: after its sections are gone. */
  deleteDocument: statement(
    'maintain.delete_document',
    ['documentId'],
    'MATCH (d:Document {id: $documentId}) DETACH DELETE d RETURN count(*) AS n',
  ),
  /** $documentId, $generation, $pipelineVersion; a stale verify never lowers completed_generation. n = 0: no such document. */
  markCompleted: statement(
    'maintain.mark_completed',
    ['documentId', 'generation', 'pipelineVersion'],
    `MATCH (d:Document {id: $documentId})
     WITH d, d.completed_generation IS NULL OR d.completed_generation <= $generation AS newer
     SET d.completed_generation = CASE WHEN newer THEN $generation ELSE d.completed_generation END,
         d.pipeline_version = CASE WHEN newer THEN $pipelineVersion ELSE d.pipeline_version END
     RETURN count(d) AS n`,
  ),
  /**
   * $limit. The janitor's delete re-checks orphanhood in the statement that deletes: an entity goes only
   * when no section mentions it and no mentioned procedure has it as a step.
   */
  removeOrphanEntities: statement(
    'maintain.remove_orphan_entities',
    ['limit'],
    `MATCH (e:Entity)
     WHERE NOT EXISTS { MATCH (:Section)-[:MENTIONS]->(e) }
       AND NOT EXISTS { MATCH (:Section)-[:MENTIONS]->(:Entity)-[:HAS_STEP]->(e) }
     WITH e LIMIT $limit DETACH DELETE e RETURN count(*) AS n`,
  ),
};

export const READ = {
  /** $documentId */
  document: statement('read.document', ['documentId'], `MATCH (d:Document {id: $documentId}) RETURN ${DOCUMENT_FIELDS}`),
  documents: statement(
    'read.documents',
    [],
    `MATCH (d:Document) RETURN ${DOCUMENT_FIELDS} ORDER BY d.tag, d.source_uri, d.id`,
  ),
  /** $tag */
  documentsByTag: statement(
    'read.documents_by_tag',
    ['tag'],
    `MATCH (d:Document {tag: $tag}) RETURN ${DOCUMENT_FIELDS} ORDER BY d.source_uri, d.id`,
  ),
  /** $documentId */
  sectionHashes: statement(
    'read.section_hashes',
    ['documentId'],
    `MATCH (s:Section {document_id: $documentId})
     RETURN s.id AS id, s.content_hash AS contentHash, s.generation AS generation ORDER BY s.ordinal, s.id`,
  ),
  /** $ids */
  sections: statement('read.sections', ['ids'], `UNWIND $ids AS id MATCH (s:Section {id: id}) RETURN s.id AS id, s.document_id AS documentId, s.ordinal AS ordinal, s.level AS level, s.title AS title, s.heading_path AS headingPath, s.anchor AS anchor, s.text AS text, s.content_hash AS contentHash, s.generation AS generation`),
  /** $documentId */
  sectionsOfDocument: statement(
    'read.sections_of_document',
    ['documentId'],
    `MATCH (s:Section {document_id: $documentId}) RETURN s.id AS id, s.document_id AS documentId, s.ordinal AS ordinal, s.level AS level, s.title AS title, s.heading_path AS headingPath, s.anchor AS anchor, s.text AS text, s.content_hash AS contentHash, s.generation AS generation ORDER BY s.ordinal, s.id`,
  ),
  /** $sectionId */
  mentionsOf: statement(
    'read.mentions_of',
    ['sectionId'],
    'MATCH (:Section {id: $sectionId})-[m:MENTIONS]->(e:Entity) RETURN e.id AS id, m.count AS count',
  ),
  /** $ids: section ids; one statement per relation keeps the result free of cross products. */
  expandSections: statement('read.expand_sections', ['ids'], 'UNWIND $ids AS id MATCH (s:Section {id: id}) RETURN s.id AS id'),
  expandParents: statement(
    'read.expand_parents',
    ['ids'],
    `UNWIND $ids AS id MATCH (p:Section)-[:HAS_SUBSECTION]->(s:Section {id: id})
     RETURN s.id AS id, p.id AS otherId, p.title AS otherTitle ORDER BY p.ordinal`,
  ),
  expandPrevious: statement(
    'read.expand_previous',
    ['ids'],
    `UNWIND $ids AS id MATCH (p:Section)-[:NEXT_CHUNK]->(s:Section {id: id})
     RETURN s.id AS id, p.id AS otherId, p.title AS otherTitle ORDER BY p.ordinal`,
  ),
  expandNext: statement(
    'read.expand_next',
    ['ids'],
    `UNWIND $ids AS id MATCH (s:Section {id: id})-[:NEXT_CHUNK]->(n:Section)
     RETURN s.id AS id, n.id AS otherId, n.title AS otherTitle ORDER BY n.ordinal`,
  ),
  expandEntities: statement(
    'read.expand_entities',
    ['ids'],
    `UNWIND $ids AS id MATCH (s:Section {id: id})-[m:MENTIONS]->(e:Entity)
     RETURN s.id AS id, e.id AS entityId, e.kind AS kind, e.name AS name ORDER BY m.count DESC, e.name, e.id`,
  ),
  countsAll: statement(
    'read.counts_all',
    [],
    `RETURN COUNT { MATCH (:Document) } AS documents, COUNT { MATCH (:Section) } AS sections,
     COUNT { MATCH (:Entity) } AS entities, COUNT { MATCH ()-[:MENTIONS]->() } AS mentions,
     COUNT { MATCH ()-[]->() } AS edges`,
  ),
  /** $documentId: edges = every edge leaving the document's sections (HAS_STEP of its procedures apart). */
  countsOfDocument: statement(
    'read.counts_of_document',
    ['documentId'],
    `RETURN COUNT { MATCH (:Document {id: $documentId}) } AS documents,
     COUNT { MATCH (:Section {document_id: $documentId}) } AS sections,
     COUNT { MATCH (:Section {document_id: $documentId})-[:MENTIONS]->() } AS mentions,
     COUNT { MATCH (:Section {document_id: $documentId})-[]->() } AS sectionEdges`,
  ),
  /** $documentId: entities the document's sections mention, and the steps of its mentioned procedures. */
  entitiesOfDocument: statement(
    'read.entities_of_document',
    ['documentId'],
    'MATCH (:Section {document_id: $documentId})-[:MENTIONS]->(e:Entity) RETURN DISTINCT e.id AS id',
  ),
  stepsOfDocument: statement(
    'read.steps_of_document',
    ['documentId'],
    `MATCH (:Section {document_id: $documentId})-[:MENTIONS]->(p:Entity)-[:HAS_STEP]->(st:Entity)
     RETURN DISTINCT p.id AS procedureId, st.id AS id`,
  ),
  /** $documentId: the golden-state read (documentGraph): sections with every property, edges, entities. */
  graphSections: statement(
    'read.graph_sections',
    ['documentId'],
    `MATCH (s:Section {document_id: $documentId})
     RETURN s.id AS id, s.document_id AS documentId, s.ordinal AS ordinal, s.level AS level, s.title AS title,
       s.heading_path AS headingPath, s.anchor AS anchor, s.text AS text, s.token_count AS tokenCount,
       s.content_hash AS contentHash, s.generation AS generation`,
  ),
  /** $documentId: every edge leaving the document's sections (REFERENCES may end at a Document or a Section). */
  graphSectionEdges: statement(
    'read.graph_section_edges',
    ['documentId'],
    'MATCH (s:Section {document_id: $documentId})-[r]->(t) RETURN type(r) AS type, s.id AS src, t.id AS dst, r.count AS count',
  ),
  /** $documentId: HAS_STEP of the procedures its sections mention (each procedure once, so a doubled edge shows). */
  graphSteps: statement(
    'read.graph_steps',
    ['documentId'],
    `MATCH (:Section {document_id: $documentId})-[:MENTIONS]->(p:Entity)
     WITH DISTINCT p MATCH (p)-[h:HAS_STEP]->(st:Entity) RETURN p.id AS src, st.id AS dst, h.order AS stepOrder`,
  ),
  /** $ids: entity ids */
  entitiesById: statement(
    'read.entities_by_id',
    ['ids'],
    'UNWIND $ids AS id MATCH (e:Entity {id: id}) RETURN e.id AS id, e.kind AS kind, e.name AS name',
  ),
};

/** Every statement the adapter may send; anything else is refused at run time. */
export const ALL_STATEMENTS: readonly Statement[] = Object.freeze([...registry.values()]);
export const isRegistered = (s: Statement): boolean => registry.get(s.name) === s;
