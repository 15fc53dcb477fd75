/**
 * infra/k8s/ checked without a cluster (issue 3 item 9, DESIGN §15): every manifest is parsed with the
 * `yaml` package and `checkManifests` compares it with the code — each service has a Deployment running
 * the command docker-compose.yml runs (and whose main.ts exists), the environment holds only variables
 * the code reads (and every one .env.example lists that the code reads), probes match what the services
 * expose, the dashboard has its Service, and each stage a KEDA ScaledObject on ingest_queue_depth with its
 * queue label. The last tests plant differences and show the checker failing.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import YAML from 'yaml';
import { STAGES } from '@ingest/shared';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const K8S = path.join(ROOT, 'infra/k8s');
const read = (file: string): string => readFileSync(path.join(ROOT, file), 'utf8');
const SERVICES = ['watcher', ...STAGES, 'dashboard'] as const;
const SECRET_NAME = /PASSWORD|API_KEY|TOKEN|SECRET|REDIS_URL/;

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
interface Manifest extends Json { kind: string; metadata: { name: string } & Json; spec?: Json; data?: Json; stringData?: Json }

/** Every document of every infra/k8s/*.yaml (kustomization.yaml included). */
function loadManifests(): Manifest[] {
  const out: Manifest[] = [];
  for (const f of readdirSync(K8S).filter((n) => n.endsWith('.yaml')).sort()) {
    for (const doc of YAML.parseAllDocuments(readFileSync(path.join(K8S, f), 'utf8'))) {
      if (doc.errors.length > 0) throw new Error(`${f}: ${doc.errors.map((e) => e.message).join('; ')}`);
      const value = doc.toJS({ maxAliasCount: 0 }) as Manifest | null;
      if (value) out.push({ ...value, __file: f });
    }
  }
  return out;
}

/** Names of environment variables the code reads (process.env.X, env.X, env['X'], numberFromEnv('X')). */
function variablesTheCodeReads(): Set<string> {
  const found = new Set<string>();
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'node_modules' && e.name !== 'test') walk(p);
      } else if (/\.(ts|mjs)$/.test(e.name)) {
        const text = readFileSync(p, 'utf8');
        for (const m of text.matchAll(/\benv(?:\.([A-Z][A-Z0-9_]+)|\[['"]([A-Z][A-Z0-9_]+)['"]\])|FromEnv\(['"]([A-Z][A-Z0-9_]+)['"]/g)) found.add((m[1] ?? m[2] ?? m[3])!);
      }
    }
  };
  for (const d of ['shared/src', 'services', 'infra']) walk(path.join(ROOT, d));
  return found;
}

const commandOf = (c: Json | undefined): string => (Array.isArray(c?.command) ? (c.command as string[]).join(' ') : '');
const composeCommand = (compose: Json, svc: string): string => {
  const c = (compose.services as Json)[svc]?.command as string[] | string | undefined;
  return Array.isArray(c) ? c.join(' ') : (c ?? '');
};
const composeHealth = (compose: Json, svc: string): string[] => {
  const t = (compose.services as Json)[svc]?.healthcheck?.test as string[] | undefined;
  return (t ?? []).filter((x) => x !== 'CMD');
};

interface Facts {
  readonly compose: Json;
  readonly reads: ReadonlySet<string>;
  readonly envExample: string;
  /** Port and routes the dashboard serves (config/compose.yaml, services/dashboard/src/api.ts). */
  readonly dashboardPort: number;
  readonly dashboardRoutes: readonly string[];
}

/** Every problem of the manifests; [] when they match the code. */
function checkManifests(docs: readonly Manifest[], f: Facts): string[] {
  const problems: string[] = [];
  const of = (kind: string) => docs.filter((d) => d.kind === kind);
  const configMaps = new Map(of('ConfigMap').map((d) => [d.metadata.name, d]));
  const secrets = new Map(of('Secret').map((d) => [d.metadata.name, d]));
  const provided = new Set<string>();
  for (const cm of configMaps.values()) {
    for (const k of Object.keys(cm.data ?? {})) {
      provided.add(k);
      if (SECRET_NAME.test(k)) problems.push(`ConfigMap ${cm.metadata.name}: ${k} is a secret; put it in a Secret`);
    }
  }
  for (const s of secrets.values()) for (const k of Object.keys({ ...s.data, ...s.stringData })) provided.add(k);
  for (const k of provided) if (!f.reads.has(k)) problems.push(`environment: ${k} is not read by the code`);
  const listed = [...f.envExample.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!);
  for (const v of listed) if (f.reads.has(v) && !provided.has(v)) problems.push(`environment: ${v} (.env.example) is not provided`);
  for (const v of ['REDIS_URL', 'NEO4J_URI', 'NEO4J_PASSWORD', 'QDRANT_URL', 'QDRANT_API_KEY', 'INGEST_DASHBOARD_TOKEN', 'ARTIFACTS_S3_URI', 'INGEST_ENV']) {
    if (!provided.has(v)) problems.push(`environment: ${v} is not provided`);
  }

  const deployments = new Map(of('Deployment').map((d) => [d.metadata.name, d]));
  const drainMs = Number(configMaps.get('ingest-env')?.data?.INGEST_DRAIN_MS ?? 30_000);
  for (const svc of SERVICES) {
    const d = deployments.get(`ingest-${svc}`);
    if (!d) {
      problems.push(`${svc}: no Deployment ingest-${svc}`);
      continue;
    }
    const pod = d.spec?.template?.spec as Json | undefined;
    const labels = d.spec?.template?.metadata?.labels as Json | undefined;
    const selector = d.spec?.selector?.matchLabels as Json | undefined;
    if (!selector || Object.entries(selector).some(([k, v]) => labels?.[k] !== v)) problems.push(`${svc}: selector does not match the pod labels`);
    const c = (pod?.containers as Json[] | undefined)?.[0];
    const cmd = commandOf(c);
    const main = `services/${svc}/src/main.ts`;
    if (cmd !== composeCommand(f.compose, svc)) problems.push(`${svc}: command "${cmd}" differs from docker-compose.yml's "${composeCommand(f.compose, svc)}"`);
    if (!cmd.includes(main) || !existsSync(path.join(ROOT, main))) problems.push(`${svc}: command does not run an existing ${main}`);
    if (!String(c?.image ?? '').startsWith('graphrag-ingest:')) problems.push(`${svc}: image is not graphrag-ingest (infra/Dockerfile)`);
    for (const ref of (c?.envFrom as Json[] | undefined) ?? []) {
      if (ref.configMapRef && !configMaps.has(ref.configMapRef.name)) problems.push(`${svc}: ConfigMap ${ref.configMapRef.name} does not exist`);
      if (ref.secretRef && !secrets.has(ref.secretRef.name)) problems.push(`${svc}: Secret ${ref.secretRef.name} does not exist`);
    }
    if (!((c?.envFrom as Json[] | undefined) ?? []).some((r) => r.secretRef)) problems.push(`${svc}: no Secret in envFrom`);
    for (const e of (c?.env as Json[] | undefined) ?? []) if (!f.reads.has(e.name)) problems.push(`${svc}: env ${e.name} is not read by the code`);
    if (!(Number(pod?.terminationGracePeriodSeconds ?? 30) * 1000 > drainMs)) problems.push(`${svc}: terminationGracePeriodSeconds is not longer than INGEST_DRAIN_MS`);
    if (pod?.securityContext?.runAsNonRoot !== true) problems.push(`${svc}: not runAsNonRoot`);

    const live = c?.livenessProbe as Json | undefined;
    const ready = c?.readinessProbe as Json | undefined;
    if (svc === 'dashboard') {
      const ports = ((c?.ports as Json[] | undefined) ?? []).map((p) => p.containerPort as number);
      if (!ports.includes(f.dashboardPort)) problems.push(`dashboard: container does not expose ${f.dashboardPort}`);
      for (const [name, probe, route] of [['liveness', live, '/health'], ['readiness', ready, '/ready']] as const) {
        if (probe?.httpGet?.path !== route || probe?.httpGet?.port !== f.dashboardPort) problems.push(`dashboard: ${name} probe is not GET ${route} on ${f.dashboardPort}`);
        if (!f.dashboardRoutes.includes(route)) problems.push(`dashboard: the API serves no ${route}`);
      }
    } else {
      const expected = composeHealth(f.compose, svc).join(' ');
      for (const [name, probe] of [['liveness', live], ['readiness', ready]] as const) {
        const got = ((probe?.exec?.command as string[] | undefined) ?? []).join(' ');
        if (!expected || got !== expected) problems.push(`${svc}: ${name} probe "${got}" is not the compose healthcheck "${expected}"`);
      }
    }
  }

  const service = of('Service').find((s) => s.metadata.name === 'ingest-dashboard');
  const dashLabels = deployments.get('ingest-dashboard')?.spec?.template?.metadata?.labels as Json | undefined;
  if (!service) problems.push('dashboard: no Service ingest-dashboard');
  else {
    const sel = (service.spec?.selector ?? {}) as Json;
    if (Object.keys(sel).length === 0 || Object.entries(sel).some(([k, v]) => dashLabels?.[k] !== v)) problems.push('dashboard: the Service selects no dashboard pod');
    if (!((service.spec?.ports as Json[] | undefined) ?? []).some((p) => (p.targetPort ?? p.port) === f.dashboardPort)) problems.push(`dashboard: the Service does not target ${f.dashboardPort}`);
  }

  const scaled = of('ScaledObject');
  for (const stage of STAGES) {
    const so = scaled.find((s) => s.spec?.scaleTargetRef?.name === `ingest-${stage}`);
    if (!so) {
      problems.push(`${stage}: no ScaledObject targets ingest-${stage}`);
      continue;
    }
    if (so.apiVersion !== 'keda.sh/v1alpha1') problems.push(`${stage}: ScaledObject apiVersion is not keda.sh/v1alpha1`);
    const trigger = ((so.spec?.triggers as Json[] | undefined) ?? []).find((t) => t.type === 'prometheus');
    const query = String(trigger?.metadata?.query ?? '');
    if (!trigger) problems.push(`${stage}: ScaledObject has no prometheus trigger`);
    else {
      if (!/\bingest_queue_depth\{/.test(query)) problems.push(`${stage}: the query does not name ingest_queue_depth`);
      const label = /queue="([^"]*)"/.exec(query)?.[1];
      if (label !== stage) problems.push(`${stage}: the query's queue label is ${label ?? 'missing'}`);
      if (!trigger.metadata?.serverAddress) problems.push(`${stage}: the trigger has no serverAddress`);
      if (!(Number(trigger.metadata?.threshold) > 0)) problems.push(`${stage}: the trigger has no positive threshold`);
    }
    if (!(Number(so.spec?.maxReplicaCount) >= Number(so.spec?.minReplicaCount ?? 0))) problems.push(`${stage}: maxReplicaCount below minReplicaCount`);
  }
  for (const so of scaled) {
    const target = so.spec?.scaleTargetRef?.name as string | undefined;
    if (!target || !deployments.has(target)) problems.push(`ScaledObject ${so.metadata.name}: target ${target} is no Deployment`);
  }

  const kustomization = docs.find((d) => d.kind === 'Kustomization');
  const files = new Set(docs.map((d) => d.__file as string).filter((n) => n !== 'kustomization.yaml'));
  for (const file of files) if (!((kustomization?.resources as string[] | undefined) ?? []).includes(file)) problems.push(`kustomization.yaml: ${file} is not listed`);
  return problems;
}

describe('deployment: infra/k8s manifests', () => {
  const docs = loadManifests();
  const facts: Facts = {
    compose: YAML.parse(read('docker-compose.yml'), { merge: true, maxAliasCount: 100 }) as Json,
    reads: variablesTheCodeReads(),
    envExample: read('.env.example'),
    dashboardPort: Number((YAML.parse(read('config/compose.yaml')) as Json).dashboard.port),
    dashboardRoutes: [...read('services/dashboard/src/api.ts').matchAll(/app\.get\('([^']+)'/g)].map((m) => m[1]!),
  };
  const clone = (): Manifest[] => structuredClone(docs);
  const find = (d: Manifest[], kind: string, name: string): Manifest => d.find((x) => x.kind === kind && x.metadata.name === name)!;
  const container = (d: Manifest[], svc: string): Json => find(d, 'Deployment', `ingest-${svc}`).spec!.template.spec.containers[0] as Json;

  it('parses every manifest and finds what the checks read', () => {
    expect(docs.filter((d) => d.kind === 'Deployment').map((d) => d.metadata.name).sort()).to.deep.equal(SERVICES.map((s) => `ingest-${s}`).sort());
    expect(docs.filter((d) => d.kind === 'ScaledObject')).to.have.length(STAGES.length);
    for (const v of ['REDIS_URL', 'INGEST_DRAIN_MS', 'ARTIFACTS_S3_URI', 'AWS_SECRET_ACCESS_KEY']) expect(facts.reads.has(v), v).to.equal(true);
    expect(facts.dashboardPort).to.equal(9108);
    expect(facts.dashboardRoutes).to.include.members(['/health', '/ready']);
  });

  it('every service, env variable, probe and ScaledObject matches the code', () => {
    expect(checkManifests(docs, facts)).to.deep.equal([]);
  });

  it('the Secret holds placeholders only', () => {
    for (const s of docs.filter((d) => d.kind === 'Secret')) {
      for (const [k, v] of Object.entries({ ...s.stringData })) expect(String(v), k).to.match(/^$|change-me/);
      expect(s.data, 'base64 data would hide real values').to.equal(undefined);
    }
  });

  describe('planted differences make the checker fail', () => {
    const cases: Array<[string, (d: Manifest[]) => void, RegExp]> = [
      ['a missing Deployment', (d) => void d.splice(d.indexOf(find(d, 'Deployment', 'ingest-graph')), 1), /graph: no Deployment ingest-graph/],
      ['a command the build does not have', (d) => void (container(d, 'embed').command = ['node', '--import', 'tsx', 'services/embedder/src/main.ts']), /embed: command .* differs from docker-compose.yml's[\s\S]*embed: command does not run an existing/],
      ['an env variable no code reads', (d) => void (find(d, 'ConfigMap', 'ingest-env').data!.INGEST_WORKERS = '4'), /INGEST_WORKERS is not read by the code/],
      ['a container env no code reads', (d) => void (container(d, 'parse').env = [{ name: 'PARSE_THREADS', value: '2' }]), /parse: env PARSE_THREADS is not read/],
      ['a .env.example variable left out', (d) => void delete find(d, 'ConfigMap', 'ingest-env').data!.INGEST_LIVENESS_MS, /INGEST_LIVENESS_MS \(\.env\.example\) is not provided/],
      ['a secret in the ConfigMap', (d) => void (find(d, 'ConfigMap', 'ingest-env').data!.QDRANT_API_KEY = 'x'), /QDRANT_API_KEY is a secret/],
      ['a missing Secret', (d) => void d.splice(d.indexOf(find(d, 'Secret', 'ingest-secrets')), 1), /Secret ingest-secrets does not exist/],
      ['a wrong liveness probe', (d) => void (container(d, 'vector').livenessProbe = { httpGet: { path: '/health', port: 9464 } }), /vector: liveness probe "" is not the compose healthcheck/],
      ['a dashboard readiness probe on /health', (d) => void (container(d, 'dashboard').readinessProbe.httpGet.path = '/health'), /dashboard: readiness probe is not GET \/ready on 9108/],
      ['a dashboard on another port', (d) => void (container(d, 'dashboard').livenessProbe.httpGet.port = 8080), /dashboard: liveness probe is not GET \/health on 9108/],
      ['a Service selecting nothing', (d) => void (find(d, 'Service', 'ingest-dashboard').spec!.selector = { app: 'other' }), /the Service selects no dashboard pod/],
      ['a missing ScaledObject', (d) => void d.splice(d.findIndex((x) => x.kind === 'ScaledObject' && x.spec?.scaleTargetRef?.name === 'ingest-verify'), 1), /verify: no ScaledObject/],
      ['a query on another metric', (d) => {
        const t = find(d, 'ScaledObject', 'ingest-embed').spec!.triggers[0] as Json;
        t.metadata.query = String(t.metadata.query).replace('ingest_queue_depth', 'ingest_queue_oldest_age_seconds');
      }, /embed: the query does not name ingest_queue_depth/],
      ['a query with another stage\'s queue label', (d) => {
        const t = find(d, 'ScaledObject', 'ingest-extract').spec!.triggers[0] as Json;
        t.metadata.query = String(t.metadata.query).replace('queue="extract"', 'queue="parse"');
      }, /extract: the query's queue label is parse/],
      ['a drain longer than the grace period', (d) => void (find(d, 'Deployment', 'ingest-parse').spec!.template.spec.terminationGracePeriodSeconds = 10), /parse: terminationGracePeriodSeconds/],
    ];
    for (const [name, plant, message] of cases) {
      it(name, () => {
        const d = clone();
        plant(d);
        expect(checkManifests(d, facts).join('\n')).to.match(message);
      });
    }
  });
});
