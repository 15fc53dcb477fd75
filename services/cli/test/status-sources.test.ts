import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { Ajv } from 'ajv';
import { expect } from 'chai';
import { REPO_ROOT, type SourceStatus } from '@ingest/shared';
import { startWatcher, type Watcher } from '@ingest/watcher';
import { startTestSystem, type TestSystem } from '../../../test/helpers/system.js';

const run = promisify(execFile);

async function ingestctl(t: TestSystem, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(path.join(REPO_ROOT, 'scripts/ingestctl'), [...args, '--url', t.system.url, '--token', t.token], { cwd: t.dir, env: { ...process.env, INGEST_URL: '', INGEST_DASHBOARD_TOKEN: '' } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('ingestctl status lists every source (issue 4 item 4)', function () {
  this.timeout(120_000);
  let t: TestSystem;
  let hostile: Watcher;
  const evilDir = () => path.join(t.dir, 'evil\u001b[31m\u202e\nname');

  before(async () => {
    t = await startTestSystem({ watch: true });
    await mkdir(evilDir(), { recursive: true });
    await writeFile(path.join(evilDir(), 'doc.md'), '# Doc\n\ntext\n');
    hostile = await startWatcher(t.system.runtime, { dir: evilDir(), tag: 'evil\ntag', stableMs: 50, sweepIntervalMs: 0 });
    await hostile.reporter.flush();
  });
  after(async () => {
    await hostile?.close();
    await t?.stop();
  });

  it('status --json has a sources array valid against config/schema/cli/status-list.json', async () => {
    const r = await ingestctl(t, ['status', '--json']);
    expect(r.code, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout) as { sources: SourceStatus[] };
    const ajv = new Ajv({ allErrors: true, strict: false });
    const validate = ajv.compile(JSON.parse(await readFile(path.join(REPO_ROOT, 'config/schema/cli/status-list.json'), 'utf8')) as object);
    expect(validate(out), JSON.stringify(validate.errors)).to.equal(true);
    const spool = out.sources.find((s) => s.location === t.watchDir);
    expect(spool).to.deep.include({ kind: 'fs', tag: 'spool', backlog: 0, errors: 0, last_error: null });
    expect(spool!.last_scan_at).to.be.a('string');
    const evil = out.sources.find((s) => s.location === evilDir());
    expect(evil).to.deep.include({ kind: 'fs', tag: 'evil\ntag' });
  });

  it('status prints the sources under the job table with newlines, ANSI escapes and bidi characters escaped', async () => {
    const r = await ingestctl(t, ['status']);
    expect(r.code, r.stderr).to.equal(0);
    const lines = r.stdout.split('\n');
    const header = lines.findIndex((l) => l.startsWith('source '));
    expect(header).to.be.greaterThan(lines.findIndex((l) => l.startsWith('queue ')));
    expect(r.stdout).to.include(t.watchDir);
    expect(r.stdout).to.include('evil\\u001b[31m\\u202e\\u000aname');
    expect(r.stdout).to.include('evil\\u000atag');
    expect(r.stdout).to.not.match(/[\u001b\u202e]/);
  });
});
