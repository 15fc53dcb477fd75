import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject } from 'ajv';
import YAML from 'yaml';
import type { AppConfig, IngestSettings } from './config.types.js';

/** The repository's config/ folder; INGEST_CONFIG_DIR points elsewhere (containers, tests). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const configDir = (env: NodeJS.ProcessEnv): string => env.INGEST_CONFIG_DIR ?? path.join(REPO_ROOT, 'config');

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function deepMerge(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isObject(v) && isObject(base[k]) ? deepMerge(base[k], v) : v;
  return out;
}

function readYaml(file: string): Json {
  const parsed: unknown = YAML.parse(readFileSync(file, 'utf8'), { maxAliasCount: 0 });
  if (parsed === null || parsed === undefined) return {};
  if (!isObject(parsed)) throw new ConfigError([`${file}: top level must be a mapping`]);
  return parsed;
}

const describe = (file: string, errors: ErrorObject[] | null | undefined): string[] =>
  (errors ?? []).map((e) => `${file}${e.instancePath || '/'} ${e.message ?? 'is invalid'}${e.keyword === 'additionalProperties' ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})` : ''}`);

/** Deployment facts from the environment win over files (DESIGN §11). */
function environmentOverrides(env: NodeJS.ProcessEnv): Json {
  const o: Json = {};
  if (env.INGEST_DATA_DIR) o.dataDir = env.INGEST_DATA_DIR;
  if (env.REDIS_URL) o.redis = { url: env.REDIS_URL };
  if (env.LOG_LEVEL) o.logging = { level: env.LOG_LEVEL };
  if (env.INGEST_DASHBOARD_TOKEN) o.dashboard = { token: env.INGEST_DASHBOARD_TOKEN };
  if (env.EMBEDDER_URL) o.embedder = { kind: 'http', url: env.EMBEDDER_URL, ...(env.EMBEDDER_MODEL ? { model: env.EMBEDDER_MODEL } : {}) };
  if (env.EMBEDDER_DIMENSIONS) o.embedder = { ...(o.embedder as Json | undefined), dimensions: Number(env.EMBEDDER_DIMENSIONS) };
  if (env.NEO4J_URI) o.graph = { kind: 'neo4j' };
  if (env.QDRANT_URL) o.vector = { kind: 'qdrant' };
  if (env.ARTIFACTS_S3_URI) {
    const m = /^s3:\/\/([^/]+)\/?(.*)$/i.exec(env.ARTIFACTS_S3_URI);
    o.artifacts = { s3: m ? { bucket: m[1], prefix: m[2] ?? '' } : { bucket: '' } }; // '' fails validation, naming the variable's value
  }
  return o;
}

export interface LoadConfigOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Programmatic overrides (CLI flags, tests), applied after files and environment. */
  readonly overrides?: Json;
  /** Replaces config/ingest.yaml (tests). */
  readonly ingest?: IngestSettings;
}

/** Loads, merges, validates (all errors listed, unknown keys rejected) and freezes the configuration. */
export function loadConfig(options: LoadConfigOptions = {}): AppConfig {
  const env = options.env ?? process.env;
  const dir = configDir(env);
  const ajv = new Ajv({ allErrors: true, useDefaults: false });
  const validateApp = ajv.compile(JSON.parse(readFileSync(path.join(dir, 'schema/config.schema.json'), 'utf8')) as object);
  const validateIngest = ajv.compile(JSON.parse(readFileSync(path.join(dir, 'schema/ingest.schema.json'), 'utf8')) as object);

  let merged = readYaml(path.join(dir, 'default.yaml'));
  const envFile = env.INGEST_ENV ? path.join(dir, `${env.INGEST_ENV}.yaml`) : null;
  if (envFile && existsSync(envFile)) merged = deepMerge(merged, readYaml(envFile));
  merged = deepMerge(merged, environmentOverrides(env));
  if (options.overrides) merged = deepMerge(merged, options.overrides);

  const problems: string[] = [];
  if (!validateApp(merged)) problems.push(...describe('settings', validateApp.errors));
  const ingestFile = path.join(dir, 'ingest.yaml');
  const ingest = options.ingest ?? (existsSync(ingestFile) ? readYaml(ingestFile) : { programs: [], tags: {} });
  if (!validateIngest(ingest)) problems.push(...describe('ingest.yaml', validateIngest.errors));
  if (problems.length > 0) throw new ConfigError(problems);

  const config = {
    ...(merged as unknown as Omit<AppConfig, 'ingest' | 'secrets'>),
    dataDir: path.resolve(merged.dataDir as string),
    reportsDir: path.resolve(merged.reportsDir as string),
    ingest: ingest as unknown as IngestSettings,
    secrets: {
      neo4jUri: env.NEO4J_URI,
      neo4jUser: env.NEO4J_USER,
      neo4jPassword: env.NEO4J_PASSWORD,
      qdrantUrl: env.QDRANT_URL,
      qdrantApiKey: env.QDRANT_API_KEY,
      embedderApiKey: env.EMBEDDER_API_KEY,
    },
  } satisfies AppConfig;
  return deepFreeze(config);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}
