import type { StageName } from '../queue/topology.js';

export interface StageSettings {
  readonly concurrency: number;
  readonly attempts: number;
  readonly backoffMs: number;
  readonly lockDurationMs: number;
  /** How often a worker looks for jobs whose lock expired (a crashed holder); BullMQ's 30 s when unset. */
  readonly stalledIntervalMs?: number;
}

export interface SampleQuery {
  readonly q: string;
  readonly expect_source: string;
  readonly min_confidence?: number;
}

export interface TagSettings {
  readonly minConfidence?: number;
  readonly sampleQueries?: readonly SampleQuery[];
}

export interface IngestSettings {
  readonly programs: readonly string[];
  readonly tags: Readonly<Record<string, TagSettings>>;
}

/** The back-pressure controller (DESIGN §6). */
export interface BackpressureSettings {
  readonly enabled: boolean;
  readonly sampleIntervalMs: number;
  readonly leaderTtlMs: number;
  readonly badSamples: number;
  readonly goodSamples: number;
  readonly graphLoadMax: number;
  readonly neo4jCapacity: number;
  readonly graphWriteP95BudgetMs: number;
  readonly vectorP95MaxMs: number;
  readonly redisMemoryMax: number;
  readonly latencyWindowMs: number;
  readonly latencySamples: number;
  readonly globalConcurrency: { readonly graph: number; readonly vector: number };
  /** Tests only: store writes take the extra delay set through `latencyFaults`. */
  readonly injectLatency: boolean;
}

export interface AppConfig {
  readonly dataDir: string;
  /** Reports land in <reportsDir>/ingest/<UTC timestamp>-<job_id>/ (DESIGN §7). */
  readonly reportsDir: string;
  readonly redis: { readonly url: string | null; readonly spawnBinary: string };
  readonly queue: {
    readonly prefix: string;
    readonly completedRetentionAgeSeconds: number;
    readonly completedRetentionCount: number;
    readonly eventsMaxLen: number;
  };
  readonly stages: Readonly<Record<StageName, StageSettings>>;
  readonly admission: {
    readonly maxBytes: number;
    readonly maxInFlight: number;
    readonly controlByteRatio: number;
    /** An admission killed between its ledger entry and its flow is finished by the next submitter after this (default 5000). */
    readonly leaseMs?: number;
  };
  readonly parse: {
    readonly maxSectionTokens: number;
    readonly maxDepth: number;
    /** Sections per document above which parse fails with TOO_MANY_SECTIONS (default 5000). */
    readonly maxSections?: number;
    readonly segmentBytes: number;
    readonly timeoutMs: number;
    readonly maxOldGenerationSizeMb: number;
    readonly workerThreads: number;
  };
  readonly embedder: {
    readonly kind: 'hash' | 'http';
    readonly dimensions: number;
    readonly batchSize: number;
    readonly url?: string;
    readonly model?: string;
    /** HTTP embedder: per request. */
    readonly timeoutMs?: number;
    /** HTTP embedder: retries of a 5xx / timeout inside one call. */
    readonly maxRetries?: number;
    /** HTTP embedder: send `dimensions` in the request (OpenAI text-embedding-3 models shorten vectors). */
    readonly requestDimensions?: boolean;
    /** HTTP embedder: requests per second for all processes together (the provider's limit); unset = no pacing. */
    readonly maxRequestsPerSecond?: number;
  };
  readonly graph: {
    readonly kind: 'ladybug' | 'neo4j';
    readonly ladybugBufferPoolMb: number;
    /** Neo4j (URI and credentials from NEO4J_URI / NEO4J_USER / NEO4J_PASSWORD). */
    readonly neo4j?: {
      readonly database?: string;
      readonly maxBatchRows: number;
      readonly deleteBatchSize: number;
      readonly maxTransactionRetryTimeMs: number;
      readonly maxConnectionPoolSize: number;
    };
  };
  readonly vector: {
    readonly kind: 'lancedb' | 'qdrant';
    /** Qdrant (URL and API key from QDRANT_URL / QDRANT_API_KEY). */
    readonly qdrant?: { readonly alias: string; readonly batchSize: number; readonly timeoutMs: number };
  };
  readonly retrieval: { readonly legK: number; readonly rrfK: number };
  readonly verify: { readonly selfQueryTopK: number };
  readonly janitor: { readonly intervalMs: number };
  readonly backpressure: BackpressureSettings;
  readonly state: { readonly ttlSeconds: number; readonly eventsMaxLen: number };
  readonly artifacts: {
    readonly redisMaxBytes: number;
    readonly ttlSeconds: number;
    /** Big artifacts in an S3-compatible bucket (DESIGN §15); endpoint and credentials from AWS_*. Also ARTIFACTS_S3_URI=s3://bucket/prefix. */
    readonly s3?: { readonly bucket: string; readonly prefix?: string };
  };
  readonly dashboard: { readonly host: string; readonly port: number; readonly token?: string; readonly readOnly: boolean; readonly metricsSampleIntervalMs: number };
  readonly watch: {
    readonly dirs: readonly string[];
    readonly tag: string;
    readonly stableMs: number;
    /** `.part` files older than this are deleted by the spool sweep (default 1 h). */
    readonly partTtlMs?: number;
  };
  /** Mass-delete guard (DESIGN §4); optional so hand-built configs need not carry it. */
  readonly deleteGuard?: { readonly maxShare: number; readonly minDocuments: number };
  /** S3 sources (DESIGN §8): `s3://bucket/prefix` URIs (tag s3-<bucket>) besides `up --source`; optional. */
  readonly s3Source?: { readonly sources: readonly string[]; readonly pollIntervalMs: number; readonly suffixes: readonly string[] };
  /** HTTP listing source (DESIGN §8). */
  readonly httpSource?: {
    readonly allow: readonly string[]; readonly pollIntervalMs: number; readonly maxBytes: number;
    readonly listingMaxBytes: number; readonly timeoutMs: number; readonly maxRedirects: number;
  };
  readonly logging: { readonly level: 'error' | 'warn' | 'info' | 'debug' | 'silent'; readonly format: 'json' | 'pretty' };
  /** config/ingest.yaml */
  readonly ingest: IngestSettings;
  /** Secrets and deployment facts read from the environment only (never from files, never logged). */
  readonly secrets: {
    readonly neo4jUri?: string;
    readonly neo4jUser?: string;
    readonly neo4jPassword?: string;
    readonly qdrantUrl?: string;
    readonly qdrantApiKey?: string;
    readonly embedderApiKey?: string;
  };
}
