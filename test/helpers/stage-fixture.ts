import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import {
  artifactKeys, createLogger, documentId, jobIdFor, sectionId, sha256Hex, TieredArtifactStore,
  type ParsedArtifact, type SectionRecord, type StageContext, type StageJobData,
} from '@ingest/shared';
import { LadybugGraphStore } from '../../shared/src/adapters/graph/ladybug-graph-store.js';
import { LanceVectorStore } from '../../shared/src/adapters/vector/lancedb-vector-store.js';
import { HashEmbedder } from '../../shared/src/adapters/embedder/hash-embedder.js';
import { startTestRedis, type TestRedis } from './redis.js';

/** Real stores and a real artifact store (Redis + files) for calling stage functions directly. */
export interface StageFixture {
  readonly artifacts: TieredArtifactStore;
  readonly graph: LadybugGraphStore;
  readonly vectors: LanceVectorStore;
  readonly embedder: HashEmbedder;
  readonly redis: Redis;
  close(): Promise<void>;
}

export async function openStageFixture(dimensions = 64): Promise<StageFixture> {
  const server: TestRedis = await startTestRedis();
  const dir = await mkdtemp(path.join(tmpdir(), 'stage-'));
  const redis = new Redis(server.url);
  const graph = await LadybugGraphStore.open(path.join(dir, 'g'));
  const vectors = await LanceVectorStore.open(path.join(dir, 'v'), dimensions);
  return {
    artifacts: new TieredArtifactStore(redis, dir, 256 * 1024, 3600),
    graph, vectors, embedder: new HashEmbedder({ dimensions }), redis,
    async close() {
      await graph.close();
      await vectors.close();
      redis.disconnect();
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export const ctx = (): StageContext => ({
  logger: createLogger({ service: 'test', level: 'silent', format: 'json' }),
  signal: new AbortController().signal,
  attempt: 1,
  progress: async () => undefined,
});

export function job(uri: string, generation: number, op: 'ingest' | 'delete' = 'ingest', tag = 'st'): StageJobData {
  const d = documentId(tag, uri);
  return { v: 1, op, jobId: jobIdFor(d, generation), documentId: d, generation, tag, sourceUri: uri, checksum: `c${generation}`, contentType: 'text/markdown' };
}

/** Sections titled and bodied as given, in order, all under one H1. */
export function sectionsOf(docId: string, bodies: readonly [string, string][]): SectionRecord[] {
  return bodies.map(([title, text], i) => ({
    id: sectionId(docId, ['Doc', title], 0), documentId: docId, ordinal: i, level: 2, title, headingPath: ['Doc', title],
    anchor: title.toLowerCase(), text, tokenCount: text.split(' ').length, contentHash: sha256Hex(text), parentId: null,
  }));
}

export async function putParsed(f: StageFixture, j: StageJobData, sections: SectionRecord[]): Promise<void> {
  const parsed: ParsedArtifact = { title: 'Doc', description: null, tags: [], sections, links: [] };
  await f.artifacts.putJson(artifactKeys.parsed(j.jobId), parsed);
  await f.artifacts.putJson(artifactKeys.extracted(j.jobId), { entities: [], mentions: [], steps: [], references: [] });
}
