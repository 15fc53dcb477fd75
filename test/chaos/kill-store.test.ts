// Chaos (issue 6, reliability.md F1 for the store stages): in the embedded default the graph, vector and
// verify stages run inside the `ingestctl up` process itself (LadybugDB and LanceDB admit one process).
// With Redis outside it (a redis-server this test spawns, REDIS_URL), kill -9 `up` while the stage's queue
// has an active job it holds, start `up` again on the same data dir: LadybugDB and LanceDB reopen after
// the SIGKILL, the held job comes back as stalled, every document ends DONE in the golden state with no
// duplicates, and the killed up's compute children do not linger (they stop when their parent is gone).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { spawnRedis, type SpawnedRedis } from '../../services/cli/src/redis-server.js';
import { compareStates, duplicatesOf, NO_DUPLICATES, readState, type TagState } from './golden-state.js';
import { corpus, startChaosSystem, type ChaosSystem } from './system.js';

const DOCS = corpus(20);
const STAGES = ['graph', 'vector', 'verify'] as const;

const gone = async (pid: number) => {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat === '' || stat.includes(') Z ');
};

describe('chaos: kill -9 the up process while a store stage holds a job (external Redis)', function () {
  this.timeout(300_000);
  const golden = new Map<string, TagState>();
  let redisDir: string;
  let dir: string;
  let redisServer: SpawnedRedis;
  let redis: Redis;
  let sys: ChaosSystem | undefined;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    const clean = await startChaosSystem();
    try {
      for (const stage of STAGES) {
        const tag = `store-${stage}`;
        const ids = await Promise.all(DOCS.map((d) => clean.submit(tag, d.name, d.text)));
        expect((await clean.waitAll(ids)).map((s) => s.status)).to.deep.equal(ids.map(() => 'DONE'));
        golden.set(tag, await readState(clean.api, tag));
      }
    } finally {
      await clean.stop();
    }
    redisDir = await mkdtemp(path.join(tmpdir(), 'chaos-redis-'));
    dir = await mkdtemp(path.join(tmpdir(), 'chaos-store-'));
    redisServer = await spawnRedis({ binary: 'redis-server', dir: redisDir, password: 'chaos-store' });
    redis = new Redis(redisServer.url, { maxRetriesPerRequest: 1 });
    env = { REDIS_URL: redisServer.url };
    sys = await startChaosSystem({ dir, env });
  });
  after(async () => {
    await sys?.stop();
    redis?.disconnect();
    await redisServer?.stop();
    await rm(dir, { recursive: true, force: true });
    await rm(redisDir, { recursive: true, force: true });
  });

  for (const stage of STAGES) {
    it(`up killed while ${stage} holds a job, restarted on its data dir: every document DONE, golden state, no duplicates`, async () => {
      const tag = `store-${stage}`;
      const first = sys!;
      const upPid = first.up.pid!;
      const stalledBefore = await first.queueEvents(stage, 'stalled');
      const started = Date.now();
      const ids = await Promise.all(DOCS.map((d) => first.submit(tag, d.name, d.text)));
      // The stage runs only in `up`: a job in its active list while `up` is frozen is one `up` holds.
      const held = () => redis.llen(`{ingest}:${stage}:active`);
      let killedAt = 0;
      let heldJobs = 0;
      let kids = new Map<string, number>();
      while (!killedAt) {
        if (await held() > 0) {
          process.kill(upPid, 'SIGSTOP');
          heldJobs = await held();
          // Its children as they are at the kill (it is frozen, so none comes or goes meanwhile).
          if (heldJobs > 0) { kids = await first.children(); process.kill(upPid, 'SIGKILL'); killedAt = Date.now(); }
          else process.kill(upPid, 'SIGCONT');
        } else await new Promise((r) => setTimeout(r, 2));
        if (!killedAt && Date.now() - started > 60_000) throw new Error(`${stage} never had an active job`);
      }
      const compute = ['ingest-parse', 'ingest-extract', 'ingest-embed'].map((t) => kids.get(t)).filter((p): p is number => p !== undefined);
      // Other children (a watcher process, if this `up` runs one) are not this test's subject: killed by PID below.
      const others = [...kids.values()].filter((p) => !compute.includes(p));
      if (first.up.exitCode === null && first.up.signalCode === null) await new Promise((r) => first.up.once('exit', r));
      await first.stop(); // up is dead: this only closes the harness's Redis client; the data dir stays
      sys = undefined;
      // The compute children lost their parent: they stop by themselves (IPC channel closed).
      const lingering = async () => (await Promise.all(compute.map(async (p) => ((await gone(p)) ? null : p)))).filter((p) => p !== null);
      while ((await lingering()).length > 0 && Date.now() - killedAt < 25_000) await new Promise((r) => setTimeout(r, 50));
      const left = await lingering();
      for (const p of left) process.kill(p, 'SIGKILL');
      expect(left, 'compute children of the killed up still alive 25 s later').to.deep.equal([]);
      const orphansGoneMs = Date.now() - killedAt;
      for (const p of others) if (!(await gone(p))) process.kill(p, 'SIGKILL');

      sys = await startChaosSystem({ dir, env });
      const restartedMs = Date.now() - killedAt;
      const { jobs } = await sys.api.ok<{ jobs: { status: string }[] }>('POST', '/api/jobs/batch', { ids });
      const affected = jobs.filter((j) => j.status !== 'DONE').length;
      const states = await sys.waitAll(ids);
      const recoveredMs = Date.now() - killedAt;
      expect(states.filter((s) => s.status !== 'DONE').map((s) => `${s.job_id} ${s.status} ${JSON.stringify(s.error)}`)).to.deep.equal([]);
      const actual = await readState(sys.api, tag);
      expect(compareStates(golden.get(tag)!, actual)).to.deep.equal([]);
      expect(duplicatesOf(actual)).to.deep.equal(NO_DUPLICATES);
      const stalled = (await sys.queueEvents(stage, 'stalled')) - stalledBefore;
      expect(stalled, 'the job the killed up held came back as stalled').to.be.greaterThan(0);
      console.log(`      [chaos] up pid ${upPid} killed -9 holding ${heldJobs} ${stage} job(s) (${affected} of ${ids.length} documents not DONE when up was back); `
        + `compute children gone after ${orphansGoneMs} ms; up restarted on its data dir in ${restartedMs} ms; ${stalled} job(s) recovered as stalled; `
        + `all DONE ${recoveredMs} ms after the kill; ${actual.sections.length} sections, ${actual.relationships.length} edges, ${actual.points.length} points, duplicates 0`);
    });
  }
});
