/**
 * Every Cypher statement of the Neo4j graph store, checked without a server (DESIGN §13):
 *
 * 1. each registered statement passes Neo4j's own linter (@neo4j-cypher/language-support: syntax and
 *    semantic analysis, against a schema of our model's labels, relationship types, property keys, the
 *    statement's declared parameters and Neo4j 5's functions and procedures) with no diagnostic at all;
 * 2. the linter does catch planted typos of each kind (so 1. cannot pass vacuously);
 * 3. the adapter, driven through every public method against a recording fake driver, sends only
 *    registered statements, with exactly their declared parameters, and sends every registered one — so
 *    "every statement it sends" and "every statement linted" are the same set;
 * 4. its transaction logic (fence, allowlist, failure isolation, bounded deletes, error mapping) on the fake.
 */
import { expect } from 'chai';
import { lintCypherQuery, testData, type DbSchema } from '@neo4j-cypher/language-support';
import { Neo4jGraphStore, neo4jError, type Neo4jDriver, type Neo4jSession, type Neo4jTx } from '../../src/adapters/graph/neo4j-graph-store.js';
import { ALL_STATEMENTS, ENTITY_LABEL, GRAPH_MODEL, MAINTAIN, READ, WRITE, type Statement } from '../../src/adapters/graph/neo4j-statements.js';
import { ENTITY_KINDS } from '../../src/domain/model.js';
import { ErrorCode, PermanentError, RetryableError } from '../../src/errors/errors.js';
import { buildVersion } from '../contract/graph-store.contract.js';

/** Keys of the `$rows` maps the UNWIND statements read (`r.from`): row fields, not graph properties. */
const ROW_KEYS = ['from', 'to', 'stepOrder', 'sourceUri', 'contentType', 'updatedAt', 'documentId', 'headingPath', 'tokenCount', 'contentHash'];

function schemaFor(s: Pick<Statement, 'params'>): DbSchema {
  return {
    functions: testData.mockSchema.functions,
    procedures: testData.mockSchema.procedures,
    labels: [...GRAPH_MODEL.labels],
    relationshipTypes: [...GRAPH_MODEL.relationshipTypes],
    propertyKeys: [...GRAPH_MODEL.propertyKeys, ...ROW_KEYS],
    parameters: Object.fromEntries(s.params.map((p) => [p, null])),
    defaultLanguage: 'CYPHER 5',
  };
}

const lint = (cypher: string, params: readonly string[]): string[] =>
  lintCypherQuery(cypher, schemaFor({ params })).diagnostics.map((d) => `${d.severity === 1 ? 'error' : 'warning'}: ${d.message}`);

describe('Neo4j Cypher lint (@neo4j-cypher/language-support)', function () {
  this.timeout(120_000);

  it('registers a statement for each part of the model, and an entity upsert per allowlisted kind', () => {
    expect(ALL_STATEMENTS.length).to.be.at.least(40);
    expect(new Set(ALL_STATEMENTS.map((s) => s.name)).size).to.equal(ALL_STATEMENTS.length);
    expect(Object.keys(WRITE.upsertEntities).sort()).to.deep.equal([...ENTITY_KINDS].sort());
    for (const kind of ENTITY_KINDS) expect(WRITE.upsertEntities[kind].cypher).to.include(`SET e:${ENTITY_LABEL[kind]}, e.kind = '${kind}'`);
  });

  for (const s of ALL_STATEMENTS) {
    it(`${s.name} has no syntax or semantic diagnostic`, () => {
      expect(lint(s.cypher, s.params), s.cypher).to.deep.equal([]);
      const used = [...new Set([...s.cypher.matchAll(/\$([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!))].sort();
      expect(used, 'declared parameters = used parameters').to.deep.equal([...s.params].sort());
    });
  }

  describe('catches planted errors (the linter is not vacuous)', () => {
    const base = WRITE.upsertDocuments;
    const planted: [string, string, readonly string[], RegExp][] = [
      ['a misspelt keyword', base.cypher.replace(' SET ', ' SETT '), base.params, /Invalid input 'SETT'/],
      ['a misspelt label', READ.document.cypher.replace(':Document', ':Documnt'), READ.document.params, /Label Documnt is not present/],
      ['a misspelt relationship type', READ.mentionsOf.cypher.replace(':MENTIONS', ':MENTOINS'), READ.mentionsOf.params, /MENTOINS is not present/],
      ['a misspelt property', READ.sectionHashes.cypher.replace('s.content_hash', 's.content_hsh'), READ.sectionHashes.params, /content_hsh is not present/],
      ['an undefined variable', READ.mentionsOf.cypher.replace('RETURN e.id', 'RETURN x.id'), READ.mentionsOf.params, /Variable `x` not defined/],
      ['an undeclared parameter', MAINTAIN.deleteDocument.cypher, [], /Parameter \$documentId is not defined/],
      ['an unknown function', READ.expandSections.cypher.replace('RETURN s.id', 'RETURN tolowr(s.id)'), ['ids'], /Function tolowr is not present/],
      ['an unbalanced bracket', WRITE.deleteOutgoing.cypher.replace('->()', '->('), WRITE.deleteOutgoing.params, /./],
      ['a type error', READ.expandSections.cypher.replace('RETURN s.id', 'RETURN toUpper(1)'), ['ids'], /Type mismatch/],
      ['a property deleted like a node', WRITE.deleteOutgoing.cypher.replace('DELETE r', 'DELETE r.count'), WRITE.deleteOutgoing.params, /Type mismatch/],
      ['an aggregation misuse', MAINTAIN.deleteDocument.cypher.replace('count(*)', 'count(count(d))'), MAINTAIN.deleteDocument.params, /aggregate functions inside of aggregate/],
      ['a duplicate column', READ.mentionsOf.cypher.replace('m.count AS count', 'm.count AS id'), READ.mentionsOf.params, /same name/],
    ];
    for (const [what, cypher, params, expected] of planted) {
      it(`flags ${what}`, () => {
        const found = lint(cypher, params);
        expect(found, cypher).to.not.deep.equal([]);
        expect(found.join('\n')).to.match(expected);
      });
    }
  });
});

// ---- the adapter against a recording fake driver ------------------------------------------------

interface Sent {
  readonly cypher: string;
  readonly params: Record<string, unknown>;
  readonly mode: 'read' | 'write' | 'auto';
}

type Answer = (cypher: string, params: Record<string, unknown>) => Record<string, unknown>[] | Error;

class FakeDriver implements Neo4jDriver {
  readonly sent: Sent[] = [];
  openSessions = 0;
  closed = false;
  answer: Answer = () => [];

  session(): Neo4jSession {
    this.openSessions++;
    const tx = (mode: Sent['mode']): Neo4jTx => ({
      run: async (cypher, params = {}) => {
        this.sent.push({ cypher, params, mode });
        const out = this.answer(cypher, params);
        if (out instanceof Error) throw out;
        return { records: out.map((row) => ({ toObject: () => row })) };
      },
    });
    return {
      executeRead: (work) => work(tx('read')),
      executeWrite: (work) => work(tx('write')),
      run: (cypher, params) => tx('auto').run(cypher, params),
      close: async () => {
        this.openSessions--;
      },
    };
  }

  async verifyConnectivity(): Promise<void> {}

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** A driver error as neo4j-driver raises it (a code, and `retriable` for transient ones). */
function driverError(code: string): Error {
  return Object.assign(new Error(`planted ${code}`), { code, retriable: code.startsWith('Neo.TransientError') });
}

const richVersion = (n: string, generation = 1) =>
  buildVersion({
    tag: 'lint',
    uri: `cli://lint/${n}.md`,
    generation,
    sections: [
      { path: ['Guide'], commands: ['redis-cli'], parameters: ['--port'], refDocuments: ['00000000-0000-5000-8000-000000000001'] },
      { path: ['Guide', 'Install'], procedure: { name: 'Install', steps: ['get', 'run'] }, refSections: ['00000000-0000-5000-8000-000000000002'] },
    ],
  });

describe('Neo4jGraphStore on a recording fake driver', function () {
  let driver: FakeDriver;
  let store: Neo4jGraphStore;
  const cyphers = new Set(ALL_STATEMENTS.map((s) => s.cypher));
  const named = (s: Statement) => (x: Sent) => x.cypher === s.cypher;

  beforeEach(async () => {
    driver = new FakeDriver();
    store = await Neo4jGraphStore.open({ uri: 'bolt://fake', driver, deleteBatchSize: 3 });
  });
  afterEach(async () => store.close());

  it('sends only registered statements, with their declared parameters, and every registered one', async () => {
    const v = richVersion('a');
    driver.answer = (cypher) => (cypher === MAINTAIN.markCompleted.cypher ? [{ n: 1 }] : []);
    await store.writeVersion(v);
    await store.removeSectionsExcept(v.document.id, [v.sections[0]!.id]);
    await store.deleteDocument(v.document.id);
    await store.sectionHashes(v.document.id);
    await store.getDocument(v.document.id);
    await store.listDocuments();
    await store.listDocuments('lint');
    await store.markCompleted(v.document.id, 1, 'pv');
    await store.expand(v.sections.map((s) => s.id));
    await store.removeOrphanEntities();
    await store.counts();
    await store.counts(v.document.id);
    await store.mentionsOf(v.sections[0]!.id);
    await store.getSections(v.sections.map((s) => s.id));
    await store.sectionsOf(v.document.id);
    // An edge to an entity, so documentGraph goes on to read the entities at the ends of its edges.
    driver.answer = (cypher) => (cypher === READ.graphSectionEdges.cypher ? [{ type: 'MENTIONS', src: v.sections[0]!.id, dst: 'e1', count: 1 }] : []);
    await store.documentGraph(v.document.id);

    for (const s of driver.sent) expect(cyphers.has(s.cypher), `unregistered statement sent: ${s.cypher}`).to.equal(true);
    const sentSet = new Set(driver.sent.map((s) => s.cypher));
    const unsent = ALL_STATEMENTS.filter((s) => !sentSet.has(s.cypher)).map((s) => s.name);
    expect(unsent, 'registered statements the adapter never sends').to.deep.equal([]);
    for (const s of driver.sent) {
      const statement = ALL_STATEMENTS.find((x) => x.cypher === s.cypher)!;
      expect(Object.keys(s.params).sort(), statement.name).to.deep.equal([...statement.params].sort());
    }
    expect(driver.openSessions, 'every session closed').to.equal(0);
  });

  it('writes a version in one write transaction of UNWIND batches, integers as Neo4j integers', async () => {
    const v = richVersion('a', 4);
    const result = await store.writeVersion(v);
    expect(result).to.deep.equal({ applied: true, sectionsWritten: 2, entitiesWritten: v.entities.length, mentionsWritten: v.mentions.length });
    const writes = driver.sent.filter((s) => s.mode === 'write');
    expect(writes[0]!.cypher).to.equal(WRITE.lockDocuments.cypher);
    const docRows = writes.find(named(WRITE.upsertDocuments))!.params.rows as { generation: unknown }[];
    expect(String(docRows[0]!.generation)).to.equal('4');
    expect(typeof docRows[0]!.generation).to.equal('object'); // neo4j.int, not a float
    const sections = writes.find(named(WRITE.upsertSections))!.params.rows as { id: string }[];
    expect(sections.map((s) => s.id)).to.deep.equal(v.sections.map((s) => s.id));
    // every entity went through the statement of its own kind
    for (const kind of ENTITY_KINDS) {
      const rows = (writes.find(named(WRITE.upsertEntities[kind]))?.params.rows ?? []) as { id: string }[];
      expect(rows.map((r) => r.id).sort()).to.deep.equal(v.entities.filter((e) => e.kind === kind).map((e) => e.id).sort());
    }
  });

  it('holds the fence: a stored newer generation refuses the version and nothing is written', async () => {
    const v = richVersion('a', 2);
    driver.answer = (cypher, params) =>
      cypher === WRITE.lockDocuments.cypher ? (params.ids as string[]).map((id) => ({ id, generation: 3 })) : [];
    expect(await store.writeVersion(v)).to.deep.equal({ applied: false, sectionsWritten: 0, entitiesWritten: 0, mentionsWritten: 0 });
    expect(driver.sent.map((s) => s.cypher).filter((c) => c !== WRITE.lockDocuments.cypher && !c.startsWith('CREATE') && !c.startsWith('CALL'))).to.deep.equal([]);
  });

  it('merges concurrent versions into one transaction; an older version of a document in the batch is refused', async () => {
    const blocker = store.removeOrphanEntities(); // keeps the writer busy so the next writes queue up together
    const [a, b, old] = await Promise.all([
      store.writeVersion(richVersion('a', 2)),
      store.writeVersion(richVersion('b', 1)),
      store.writeVersion(richVersion('a', 1)),
    ]);
    await blocker;
    expect([a!.applied, b!.applied, old!.applied]).to.deep.equal([true, true, false]);
    const locks = driver.sent.filter(named(WRITE.lockDocuments));
    expect(locks).to.have.length(1);
    expect((locks[0]!.params.ids as string[]).length).to.equal(2);
    const docs = driver.sent.find(named(WRITE.upsertDocuments))!.params.rows as { id: string; generation: unknown }[];
    expect(docs.map((d) => String(d.generation)).sort()).to.deep.equal(['1', '2']);
  });

  it('a version failing for good fails alone: the batch is retried one version at a time', async () => {
    const bad = richVersion('bad');
    driver.answer = (cypher, params) => {
      const rows = (params.rows ?? []) as { id?: string }[];
      if (cypher === WRITE.upsertDocuments.cypher && rows.some((r) => r.id === bad.document.id)) {
        return driverError('Neo.ClientError.Schema.ConstraintValidationFailed');
      }
      return [];
    };
    const blocker = store.removeOrphanEntities();
    const outcomes = await Promise.allSettled([store.writeVersion(bad), store.writeVersion(richVersion('ok1')), store.writeVersion(richVersion('ok2'))]);
    await blocker;
    expect(outcomes.map((o) => o.status)).to.deep.equal(['rejected', 'fulfilled', 'fulfilled']);
    const reason = (outcomes[0] as PromiseRejectedResult).reason as PermanentError;
    expect(reason).to.be.instanceOf(PermanentError);
    expect(reason.code).to.equal(ErrorCode.StoreWriteFailed);
    expect(driver.sent.filter(named(WRITE.lockDocuments)).length).to.equal(4); // the batch, then each alone
  });

  it('rejects kinds off the allowlist before anything is sent', async () => {
    const v = richVersion('evil');
    const before = driver.sent.length;
    const evil = { ...v, entities: v.entities.map((e) => ({ ...e, kind: 'Command:Admin' as 'Command' })) };
    const error = await store.writeVersion(evil).then(() => null, (e: unknown) => e);
    expect(error).to.be.instanceOf(PermanentError);
    expect(driver.sent.length).to.equal(before);
  });

  it('deletes in bounded batches until a batch comes back short', async () => {
    let left = 8;
    driver.answer = (cypher, params) => {
      if (cypher !== MAINTAIN.deleteSections.cypher && cypher !== MAINTAIN.deleteDocument.cypher) return [];
      if (cypher === MAINTAIN.deleteDocument.cypher) return [{ n: 1 }];
      const n = Math.min(left, Number(params.limit));
      left -= n;
      return [{ n }];
    };
    expect(await store.deleteDocument('d')).to.equal(9);
    const batches = driver.sent.filter(named(MAINTAIN.deleteSections));
    expect(batches).to.have.length(3); // 3 + 3 + 2
    expect(batches.every((b) => String(b.params.limit) === '3' && b.mode === 'write')).to.equal(true);
  });

  it('markCompleted of a document that is not there is NOT_FOUND', async () => {
    driver.answer = (cypher) => (cypher === MAINTAIN.markCompleted.cypher ? [{ n: 0 }] : []);
    const error = await store.markCompleted('nope', 1, 'pv').then(() => null, (e: unknown) => e);
    expect((error as PermanentError).code).to.equal(ErrorCode.NotFound);
  });

  it('maps driver errors: transient and unavailable retry, statement/constraint/auth errors are permanent', async () => {
    const cases: [string, typeof RetryableError | typeof PermanentError][] = [
      ['Neo.TransientError.Transaction.DeadlockDetected', RetryableError],
      ['Neo.TransientError.General.MemoryPoolOutOfMemoryError', RetryableError],
      ['ServiceUnavailable', RetryableError],
      ['SessionExpired', RetryableError],
      ['Neo.DatabaseError.General.UnknownError', RetryableError],
      ['Neo.ClientError.Statement.SyntaxError', PermanentError],
      ['Neo.ClientError.Statement.ParameterMissing', PermanentError],
      ['Neo.ClientError.Schema.ConstraintValidationFailed', PermanentError],
      ['Neo.ClientError.Security.Unauthorized', PermanentError],
      ['Neo.ClientError.Database.DatabaseNotFound', PermanentError],
    ];
    for (const [code, type] of cases) {
      const mapped = neo4jError(driverError(code), ErrorCode.StoreWriteFailed);
      expect(mapped, code).to.be.instanceOf(type);
      expect(mapped.message).to.include(code);
    }
    expect(neo4jError(new Error('ECONNRESET'), ErrorCode.StoreUnavailable)).to.be.instanceOf(RetryableError);
    driver.answer = () => driverError('Neo.TransientError.Transaction.DeadlockDetected');
    const error = await store.counts().then(() => null, (e: unknown) => e);
    expect(error).to.be.instanceOf(RetryableError);
  });

  it('open tolerates a schema rule another service created first; close leaves a handed-in driver open', async () => {
    const racing = new FakeDriver();
    racing.answer = (cypher) => (cypher.startsWith('CREATE CONSTRAINT section_id') ? driverError('Neo.ClientError.Schema.EquivalentSchemaRuleAlreadyExists') : []);
    const s = await Neo4jGraphStore.open({ uri: 'bolt://fake', driver: racing });
    expect(racing.sent.filter((x) => x.cypher.startsWith('CREATE')).length).to.equal(8);
    await s.close();
    await s.close();
    expect(racing.closed).to.equal(false);
    const error = await s.counts().then(() => null, (e: unknown) => e);
    expect(error).to.be.instanceOf(RetryableError);
    const broken = new FakeDriver();
    broken.answer = () => driverError('Neo.ClientError.Security.Unauthorized');
    expect(await Neo4jGraphStore.open({ uri: 'bolt://fake', driver: broken }).then(() => null, (e: unknown) => e)).to.be.instanceOf(PermanentError);
  });
});
