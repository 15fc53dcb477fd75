/**
 * Schema and Cypher of the LadybugDB graph store (DESIGN §5), kept apart from the adapter so every
 * statement can be read in one place. All statements are constants: data only ever reaches them as
 * `$parameters`, never as text; table and label names are fixed here, never derived from data.
 *
 * Ladybug (the Kùzu fork) has no multi-label nodes, so `:Section:Chunk` is the Section table and the
 * entity label (Command | Parameter | Procedure | Step) is the `kind` column of one Entity table, checked
 * against ENTITY_KINDS before it is written. REFERENCES is one multi-pair rel table (Section→Document and
 * Section→Section). Ladybug has no secondary indexes: document-scoped lookups walk FROM_DOCUMENT from the
 * Document's primary key instead of scanning `Section.document_id`.
 */

/** Idempotent DDL, run in order at open. */
export const SCHEMA: readonly string[] = [
  `CREATE NODE TABLE IF NOT EXISTS Document(id STRING PRIMARY KEY, source_uri STRING, tag STRING, title STRING,
     checksum STRING, generation INT64, completed_generation INT64, pipeline_version STRING, content_type STRING,
     updated_at STRING)`,
  `CREATE NODE TABLE IF NOT EXISTS Section(id STRING PRIMARY KEY, document_id STRING, ordinal INT64, level INT64,
     title STRING, heading_path STRING[], anchor STRING, text STRING, token_count INT64, content_hash STRING,
     generation INT64)`,
  `CREATE NODE TABLE IF NOT EXISTS Entity(id STRING PRIMARY KEY, kind STRING, name STRING)`,
  `CREATE REL TABLE IF NOT EXISTS FROM_DOCUMENT(FROM Section TO Document, MANY_ONE)`,
  `CREATE REL TABLE IF NOT EXISTS NEXT_CHUNK(FROM Section TO Section)`,
  `CREATE REL TABLE IF NOT EXISTS HAS_SUBSECTION(FROM Section TO Section)`,
  `CREATE REL TABLE IF NOT EXISTS MENTIONS(FROM Section TO Entity, count INT64)`,
  'CREATE REL TABLE IF NOT EXISTS HAS_STEP(FROM Entity TO Entity, `order` INT64)',
  `CREATE REL TABLE IF NOT EXISTS REFERENCES(FROM Section TO Document, FROM Section TO Section)`,
];

const DOCUMENT_FIELDS = `d.id AS id, d.source_uri AS sourceUri, d.tag AS tag, d.title AS title, d.checksum AS checksum,
  d.generation AS generation, d.completed_generation AS completedGeneration, d.pipeline_version AS pipelineVersion`;

/** writeVersion, in the order the batch transaction runs them. Each takes one list parameter. */
export const WRITE = {
  /** $ids: document ids → stored generations (the fence, read inside the write transaction). */
  storedGenerations: `UNWIND $ids AS id MATCH (d:Document {id: id}) RETURN d.id AS id, d.generation AS generation`,
  /** $ids: section ids → HAS_STEP of the procedures those sections mention (before MENTIONS go). */
  deleteStepsOfMentionedProcedures: `UNWIND $ids AS id
     MATCH (s:Section {id: id})-[:MENTIONS]->(p:Entity) WHERE p.kind = 'Procedure'
     MATCH (p)-[h:HAS_STEP]->(:Entity) DELETE h`,
  /** $ids: procedure ids whose steps this batch rewrites. */
  deleteStepsOfProcedures: `UNWIND $ids AS id MATCH (p:Entity {id: id}) MATCH (p)-[h:HAS_STEP]->(:Entity) DELETE h`,
  /**
   * $ids: section ids → every outgoing edge the graph stage replaces. This and the next two find their
   * start by key in a MATCH of its own: as one path Ladybug scans the whole start table (20 sections at
   * 200k sections: deleteOutgoing 130 -> 100 ms, deleteIncomingParent 10.5 -> 2.5, deleteStepsOfProcedures
   * 12 -> 3.3).
   */
  deleteOutgoing: `UNWIND $ids AS id MATCH (s:Section {id: id})
     MATCH (s)-[r:NEXT_CHUNK|HAS_SUBSECTION|MENTIONS|REFERENCES]->() DELETE r`,
  /** $ids: section ids → the parent edge; a section's parent is whatever its new record says. */
  deleteIncomingParent: `UNWIND $ids AS id MATCH (s:Section {id: id}) MATCH (:Section)-[r:HAS_SUBSECTION]->(s) DELETE r`,
  /*
   * No MERGE anywhere below. Ladybug 0.19 plans `UNWIND … MERGE (n:T {id: …})` as a hash join against a
   * scan of the whole table T (and, over struct rows, a cross product before it), so every batch paid for
   * the size of the table: 300 entity rows cost 13 ms into an empty Entity table, 94 ms at 20k entities and
   * 350 ms at 100k; 9,000 rows 0.6 s, 3 s and 7.5 s. Writes read which ids exist by key (a primary-key
   * lookup per row), CREATE the new ones and MATCH-by-key-and-SET the others: 9-16 ms for 300 and
   * 0.15-0.18 s for 9,000 new entities at any table size measured (up to 300k).
   */
  /** $rows: documents not stored yet (writeTransaction has just read which are). */
  createDocuments: `UNWIND $rows AS r CREATE (d:Document {id: r.id, source_uri: r.sourceUri, tag: r.tag, title: r.title,
     checksum: r.checksum, generation: r.generation, content_type: r.contentType, updated_at: r.updatedAt})`,
  /** $rows: stored documents; completed_generation and pipeline_version are left as they are. */
  updateDocuments: `UNWIND $rows AS r MATCH (d:Document {id: r.id})
     SET d.source_uri = r.sourceUri, d.tag = r.tag, d.title = r.title, d.checksum = r.checksum,
         d.generation = r.generation, d.content_type = r.contentType, d.updated_at = r.updatedAt`,
  /** $ids: section ids of stored documents → those that exist. */
  storedSectionIds: `UNWIND $ids AS id MATCH (s:Section {id: id}) RETURN s.id AS id`,
  /**
   * $rows: stored sections. Their FROM_DOCUMENT edge exists: a section id derives from its document's id,
   * every section is created with the edge, and nothing but deleting the section removes it.
   */
  updateSections: `UNWIND $rows AS r MATCH (s:Section {id: r.id})
     SET s.document_id = r.documentId, s.ordinal = r.ordinal, s.level = r.level, s.title = r.title,
         s.heading_path = r.headingPath, s.anchor = r.anchor, s.text = r.text, s.token_count = r.tokenCount,
         s.content_hash = r.contentHash, s.generation = r.generation`,
  /** $rows: sections not stored yet (all of a new document's, or new ones of a stored document), with their edge to the document. */
  createSections: `UNWIND $rows AS r MATCH (d:Document {id: r.documentId})
     CREATE (s:Section {id: r.id, document_id: r.documentId, ordinal: r.ordinal, level: r.level, title: r.title,
       heading_path: r.headingPath, anchor: r.anchor, text: r.text, token_count: r.tokenCount,
       content_hash: r.contentHash, generation: r.generation})-[:FROM_DOCUMENT]->(d)`,
  /**
   * The same for the sections of one document, passed a column at a time (LadybugSession.runColumns:
   * $id, $ordinal, … each led by a placeholder, hence `range(2, …)`), with $documentId a scalar so the
   * Document is found by key. For documents with many sections: 2.4x cheaper than struct rows.
   */
  createSectionsOfDocument: `MATCH (d:Document {id: $documentId}) UNWIND range(2, size($id)) AS i
     CREATE (s:Section {id: $id[i], document_id: $documentId, ordinal: $ordinal[i], level: $level[i], title: $title[i],
       heading_path: $headingPath[i], anchor: $anchor[i], text: $text[i], token_count: $tokenCount[i],
       content_hash: $contentHash[i], generation: $generation[i]})-[:FROM_DOCUMENT]->(d)`,
  /** $ids: entity ids → the stored ones with their kind and name. */
  storedEntities: `UNWIND $ids AS id MATCH (e:Entity {id: id}) RETURN e.id AS id, e.kind AS kind, e.name AS name`,
  /**
   * Entities not stored yet, a column at a time ($id, $kind, $name, each led by a placeholder; kinds already
   * checked against the allowlist): 9,000 in 0.14-0.18 s, against 0.3 s as struct rows.
   */
  createEntities: `UNWIND range(2, size($id)) AS i CREATE (e:Entity {id: $id[i], kind: $kind[i], name: $name[i]})`,
  /** $rows: stored entities whose kind or name this batch changes (an entity shared by documents: last write wins). */
  updateEntities: `UNWIND $rows AS r MATCH (e:Entity {id: r.id}) SET e.kind = r.kind, e.name = r.name`,
  /**
   * Edges below are CREATEd: their sources' outgoing edges were deleted above and rows are de-duplicated.
   * Two MATCH clauses, not one with a comma: Ladybug plans `MATCH (a {id: r.x}), (b {id: r.y})` as a cross
   * product of two table scans (~30× slower at 6k nodes, and growing), but each lone MATCH as a key lookup.
   */
  createNextChunk: `UNWIND $rows AS r MATCH (a:Section {id: r.from}) MATCH (b:Section {id: r.to}) CREATE (a)-[:NEXT_CHUNK]->(b)`,
  createSubsection: `UNWIND $rows AS r MATCH (p:Section {id: r.from}) MATCH (c:Section {id: r.to})
     CREATE (p)-[:HAS_SUBSECTION]->(c)`,
  createMentions: `UNWIND $rows AS r MATCH (s:Section {id: r.from}) MATCH (e:Entity {id: r.to})
     CREATE (s)-[:MENTIONS {count: r.count}]->(e)`,
  createSteps: 'UNWIND $rows AS r MATCH (p:Entity {id: r.from}) MATCH (st:Entity {id: r.to}) CREATE (p)-[:HAS_STEP {`order`: r.stepOrder}]->(st)',
  /** References are created only when the target node exists (MATCH drops the others). */
  createDocumentReferences: `UNWIND $rows AS r MATCH (s:Section {id: r.from}) MATCH (d:Document {id: r.to})
     CREATE (s)-[:REFERENCES]->(d)`,
  createSectionReferences: `UNWIND $rows AS r MATCH (s:Section {id: r.from}) MATCH (t:Section {id: r.to})
     CREATE (s)-[:REFERENCES]->(t)`,
} as const;

export const MAINTAIN = {
  /**
   * $documentId. removeSectionsExcept reads these and deletes the difference by id: a
   * `WHERE NOT list_contains($keep, s.id)` scan compares every section with the whole list (265 ms for a
   * document of 9,213 sections, against 13 ms for this read), and a new document has nothing to delete.
   */
  sectionIdsOfDocument: `MATCH (s:Section)-[:FROM_DOCUMENT]->(:Document {id: $documentId}) RETURN s.id AS id`,
  /** $ids: sections (of one document, read just before in the same transaction). */
  deleteSectionsById: `UNWIND $ids AS id MATCH (s:Section {id: id}) DETACH DELETE s RETURN count(s) AS n`,
  /** $documentId */
  deleteSections: `MATCH (s:Section)-[:FROM_DOCUMENT]->(:Document {id: $documentId}) DETACH DELETE s RETURN count(s) AS n`,
  deleteDocument: `MATCH (d:Document {id: $documentId}) DETACH DELETE d RETURN count(d) AS n`,
  /** $ids: document ids → completed generations, read inside markCompleted's transaction. */
  completedGenerations: `UNWIND $ids AS id MATCH (d:Document {id: id}) RETURN d.id AS id, d.completed_generation AS completedGeneration`,
  /**
   * $rows {documentId, generation, pipelineVersion}, one per document, already checked in code never to
   * lower completed_generation. Not with `WHERE d.completed_generation IS NULL OR …` here: after UNWIND and
   * a key lookup, Ladybug 0.19 evaluates IS NULL (and coalesce) on node properties against the wrong rows
   * (verified: a NULL reported not null and the other way round), while the values it returns are right.
   */
  markCompletedRows: `UNWIND $rows AS r MATCH (d:Document {id: r.documentId})
     SET d.completed_generation = r.generation, d.pipeline_version = r.pipelineVersion`,
  /**
   * The janitor's delete re-checks orphanhood in the statement that deletes: an entity goes only when no
   * section mentions it and no mentioned procedure has it as a step.
   */
  removeOrphanEntities: `MATCH (e:Entity)
     WHERE NOT EXISTS { MATCH (:Section)-[:MENTIONS]->(e) }
       AND NOT EXISTS { MATCH (:Section)-[:MENTIONS]->(:Entity)-[:HAS_STEP]->(e) }
     DETACH DELETE e RETURN count(e) AS n`,
} as const;

export const READ = {
  /** $documentId */
  document: `MATCH (d:Document {id: $documentId}) RETURN ${DOCUMENT_FIELDS}`,
  documents: `MATCH (d:Document) RETURN ${DOCUMENT_FIELDS} ORDER BY d.tag, d.source_uri, d.id`,
  /** $tag */
  documentsByTag: `MATCH (d:Document) WHERE d.tag = $tag RETURN ${DOCUMENT_FIELDS} ORDER BY d.source_uri, d.id`,
  /** $documentId */
  sectionHashes: `MATCH (s:Section)-[:FROM_DOCUMENT]->(:Document {id: $documentId})
     RETURN s.id AS id, s.content_hash AS contentHash, s.generation AS generation ORDER BY s.ordinal, s.id`,
  /**
   * $ids. The document from the section's own `document_id`: walking FROM_DOCUMENT after UNWIND is planned as
   * a scan of every section (5 ids: 153 ms at 200k sections, 9.5 ms at 10k; by key alone 7.1 and 0.6 ms).
   */
  sections: `UNWIND $ids AS id MATCH (s:Section {id: id})
     RETURN s.id AS id, s.document_id AS documentId, s.ordinal AS ordinal, s.level AS level, s.title AS title, s.heading_path AS headingPath, s.anchor AS anchor, s.text AS text, s.content_hash AS contentHash, s.generation AS generation`,
  /** $documentId */
  sectionsOfDocument: `MATCH (s:Section)-[:FROM_DOCUMENT]->(d:Document {id: $documentId})
     RETURN s.id AS id, d.id AS documentId, s.ordinal AS ordinal, s.level AS level, s.title AS title, s.heading_path AS headingPath, s.anchor AS anchor, s.text AS text, s.content_hash AS contentHash, s.generation AS generation ORDER BY s.ordinal, s.id`,
  /** $sectionId */
  mentionsOf: `MATCH (:Section {id: $sectionId})-[m:MENTIONS]->(e:Entity) RETURN e.id AS id, m.count AS count`,
  /**
   * $ids: section ids; one statement per relation keeps the result free of cross products. The key lookup
   * stands in a MATCH of its own where that is cheaper (expandNext, 5 ids at 200k sections: 114 -> 106 ms,
   * at 10k: 9.4 -> 6.0; expandParents 26 -> 18 and 3.7 -> 2.1); expandEntities is faster as one path.
   * Rows carry their ordering keys and expand() orders them (as it does the rows of EXPAND_BY_KEY below).
   */
  expandSections: `UNWIND $ids AS id MATCH (s:Section {id: id}) RETURN s.id AS id`,
  expandParents: `UNWIND $ids AS id MATCH (s:Section {id: id}) MATCH (p:Section)-[:HAS_SUBSECTION]->(s)
     RETURN s.id AS id, p.id AS otherId, p.title AS otherTitle, p.ordinal AS ordinal, p.generation AS generation`,
  expandPrevious: `UNWIND $ids AS id MATCH (s:Section {id: id}) MATCH (p:Section)-[:NEXT_CHUNK]->(s)
     RETURN s.id AS id, p.id AS otherId, p.title AS otherTitle, p.ordinal AS ordinal, p.generation AS generation`,
  expandNext: `UNWIND $ids AS id MATCH (s:Section {id: id}) MATCH (s)-[:NEXT_CHUNK]->(n:Section)
     RETURN s.id AS id, n.id AS otherId, n.title AS otherTitle, n.ordinal AS ordinal, n.generation AS generation`,
  expandEntities: `UNWIND $ids AS id MATCH (s:Section {id: id})-[m:MENTIONS]->(e:Entity)
     RETURN s.id AS id, e.id AS entityId, e.kind AS kind, e.name AS name, m.count AS count`,
  countsAll: `RETURN COUNT { MATCH (:Document) } AS documents, COUNT { MATCH (:Section) } AS sections,
     COUNT { MATCH (:Entity) } AS entities, COUNT { MATCH ()-[:MENTIONS]->() } AS mentions,
     COUNT { MATCH ()-[]->() } AS edges`,
  /**
   * Batched forms of the per-document reads above, for reads coalesced across jobs (ladybug-reads.ts):
   * $ids are document ids and each row names its document. One statement for 16 documents costs 3–6
   * per-document ones, not 16 (measured on 480 documents of 12 sections). Counts always take this form:
   * for one document too it costs a third of COUNT {} subqueries (3.2 against 9.8 ms; 25 against 149 ms
   * for a document of 9,213 sections).
   */
  documentsById: `UNWIND $ids AS id MATCH (d:Document {id: id}) RETURN ${DOCUMENT_FIELDS}`,
  /** $ids: rows in each document's order (ordinal, id), documents interleaved. */
  sectionHashesOfDocuments: `UNWIND $ids AS id MATCH (s:Section)-[:FROM_DOCUMENT]->(d:Document {id: id})
     RETURN d.id AS documentId, s.id AS id, s.content_hash AS contentHash, s.generation AS generation ORDER BY s.ordinal, s.id`,
  /**
   * $ids: edges leaving each document's sections, by type (FROM_DOCUMENT: one per section). Counted in
   * groups, not with COUNT {} per id, and walked in separate MATCH clauses, not one path: Ladybug runs
   * either of those forms 13–30× slower (16 ids at 480 documents; the path form only with `-[r]->`).
   */
  edgesOfDocuments: `UNWIND $ids AS id MATCH (d:Document {id: id}) MATCH (d)<-[:FROM_DOCUMENT]-(s:Section) MATCH (s)-[r]->()
     RETURN d.id AS documentId, label(r) AS type, count(*) AS n`,
  /**
   * $ids: the entities each document's sections mention, each with the steps it has (a procedure) or a
   * null step. One statement instead of one for entities and one for steps: 3.8 ms against 7.7 (476
   * redis-docs pages). Steps are told apart in code: Ladybug 0.19 evaluates IS NULL wrongly after UNWIND
   * and a key lookup (see markCompletedRows), while the values it returns are right. Walked a MATCH per hop
   * from the key lookup: as one path it scanned every section (4 documents: 116 against 14 ms at 200k
   * sections, 15 against 7 ms at 10k).
   */
  entitiesAndStepsOfDocuments: `UNWIND $ids AS id MATCH (d:Document {id: id}) MATCH (d)<-[:FROM_DOCUMENT]-(s:Section) MATCH (s)-[:MENTIONS]->(e:Entity)
     OPTIONAL MATCH (e)-[:HAS_STEP]->(st:Entity)
     RETURN DISTINCT d.id AS documentId, e.id AS id, st.id AS stepId`,
  /** $documentId: the golden-state read (documentGraph): sections with every property, edges, entities. */
  graphSections: `MATCH (s:Section)-[:FROM_DOCUMENT]->(d:Document {id: $documentId})
     RETURN s.id AS id, d.id AS documentId, s.ordinal AS ordinal, s.level AS level, s.title AS title, s.heading_path AS headingPath,
       s.anchor AS anchor, s.text AS text, s.token_count AS tokenCount, s.content_hash AS contentHash, s.generation AS generation`,
  /** $documentId: every edge leaving the document's sections (REFERENCES may end at a Document or a Section). */
  graphSectionEdges: `MATCH (s:Section)-[:FROM_DOCUMENT]->(:Document {id: $documentId})
     MATCH (s)-[r]->(t) RETURN label(r) AS type, s.id AS src, t.id AS dst, r.count AS count`,
  /** $documentId: HAS_STEP of the procedures its sections mention (each procedure once, so a doubled edge shows). */
  graphSteps: `MATCH (:Document {id: $documentId})<-[:FROM_DOCUMENT]-(:Section)-[:MENTIONS]->(p:Entity)
     WITH DISTINCT p MATCH (p)-[h:HAS_STEP]->(st:Entity) RETURN p.id AS src, st.id AS dst, h.\`order\` AS stepOrder`,
  /** $ids: entity ids */
  entitiesById: `UNWIND $ids AS id MATCH (e:Entity {id: id}) RETURN e.id AS id, e.kind AS kind, e.name AS name`,
} as const;

/**
 * expand() for a few sections: one branch per id, each with the id as a scalar `$idN`, joined by UNION ALL.
 * A scalar key is planned as a primary-key lookup and a walk from it; the same lookup after UNWIND is
 * planned as a scan of the whole Section table, so the UNWIND forms above slow down with the corpus. At
 * 200k sections, 5 ids: next 27 against 145 ms, entities 28 against 266, previous 22 against 151; at 10k
 * sections both forms cost the same for 5 ids, and the UNWIND forms win from ~10 ids on (so they stay for
 * larger batches). The statement text is fixed for a given number of ids; ids only ever arrive as
 * parameters. Rows carry their ordering keys (branches cannot be ordered one by one), sorted in code.
 */
export const EXPAND_BY_KEY = {
  maxIds: 8,
  params: (ids: readonly string[]): Record<string, string> => Object.fromEntries(ids.map((id, i) => [`id${i}`, id])),
  parents: (n: number): string => unionOf(n, (p) => `MATCH (s:Section {id: ${p}}) MATCH (p:Section)-[:HAS_SUBSECTION]->(s)
     RETURN s.id AS id, p.id AS otherId, p.title AS otherTitle, p.ordinal AS ordinal, p.generation AS generation`),
  previous: (n: number): string => unionOf(n, (p) => `MATCH (p:Section)-[:NEXT_CHUNK]->(s:Section {id: ${p}})
     RETURN s.id AS id, p.id AS otherId, p.title AS otherTitle, p.ordinal AS ordinal, p.generation AS generation`),
  next: (n: number): string => unionOf(n, (p) => `MATCH (s:Section {id: ${p}})-[:NEXT_CHUNK]->(n:Section)
     RETURN s.id AS id, n.id AS otherId, n.title AS otherTitle, n.ordinal AS ordinal, n.generation AS generation`),
  entities: (n: number): string => unionOf(n, (p) => `MATCH (s:Section {id: ${p}})-[m:MENTIONS]->(e:Entity)
     RETURN s.id AS id, e.id AS entityId, e.kind AS kind, e.name AS name, m.count AS count`),
} as const;

function unionOf(n: number, branch: (param: string) => string): string {
  if (!Number.isInteger(n) || n < 1 || n > EXPAND_BY_KEY.maxIds) throw new RangeError(`expand by key takes 1-${EXPAND_BY_KEY.maxIds} ids, got ${n}`);
  return Array.from({ length: n }, (_, i) => branch(`$id${i}`)).join('\n     UNION ALL ');
}
