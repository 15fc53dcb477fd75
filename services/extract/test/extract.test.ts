import { expect } from 'chai';
import { parseMarkdown } from '@ingest/parse';
import {
  documentId,
  ENTITY_KINDS,
  globalEntityId,
  scopedEntityId,
  sectionId,
  type SectionRecord,
} from '@ingest/shared';
import { extractEntities, resolveLink, type ExtractResult } from '../src/index.js';

const TAG = 'docs';

function run(md: string, sourceUri = 'file:///srv/docs/guide/intro.md', programs: readonly string[] = []) {
  const docId = documentId(TAG, sourceUri);
  const parsed = parseMarkdown(md, { documentId: docId, sourceUri });
  const result = extractEntities(
    { documentId: docId, sourceUri, tag: TAG, sections: parsed.sections, links: parsed.links },
    { programs },
  );
  return { docId, parsed, result };
}

/** `Kind:name` of every entity, and `section title → Kind:name ×count` of every mention. */
function summary(r: ExtractResult, sections: readonly SectionRecord[]) {
  const name = new Map(r.entities.map((e) => [e.id, `${e.kind}:${e.name}`]));
  const title = new Map(sections.map((s) => [s.id, s.title]));
  return {
    entities: r.entities.map((e) => `${e.kind}:${e.name}`),
    mentions: r.mentions.map((m) => `${title.get(m.sectionId)} → ${name.get(m.entityId)} ×${m.count}`),
  };
}

describe('extract: commands', () => {
  it('takes the program of every command in shell blocks (wrappers, paths, env prefixes, ; && | split)', () => {
    const md = [
      '# Install',
      '```bash',
      '# comment line',
      'sudo apt-get install -y redis',
      'cd redis-stable && make BUILD_TLS=yes',
      'REDIS_PORT=6380 ./src/redis-server --port 6380 \\',
      '  --daemonize yes',
      'curl -fsSL https://x | sudo gpg --dearmor',
      'cat <<EOF > redis.conf',
      'notacommand here',
      'EOF',
      'echo "done"; if true; then ls; fi',
      '```',
    ].join('\n');
    const { parsed, result } = run(md);
    expect(summary(result, parsed.sections).mentions).to.deep.equal([
      'Install → Command:apt-get ×1',
      'Install → Command:make ×1',
      'Install → Parameter:BUILD_TLS ×1',
      'Install → Command:redis-server ×1',
      'Install → Parameter:REDIS_PORT ×1',
      'Install → Parameter:--port ×1',
      'Install → Parameter:--daemonize ×1',
      'Install → Command:curl ×1',
      'Install → Command:gpg ×1',
      'Install → Parameter:--dearmor ×1',
      'Install → Command:cat ×1',
      'Install → Command:ls ×1',
    ]);
    expect(result.entities.find((e) => e.name === 'redis-server')!.id).to.equal(globalEntityId('Command', 'redis-server'));
  });

  it('in console blocks, and shell blocks that show prompts, only prompt lines are commands', () => {
    const md = '# S\n```console\n$ redis-cli ping\nPONG\n```\n\n```sh\n$ redis-server --version\nRedis server v=7.2\n```\n';
    const { parsed, result } = run(md);
    expect(summary(result, parsed.sections).entities).to.deep.equal([
      'Command:redis-cli',
      'Command:redis-server',
      'Parameter:--version',
    ]);
  });

  it('takes prompt lines ($, >, redis>, host:port>) in blocks of any language', () => {
    const md = '# P\n```\n> SET key value\nOK\n127.0.0.1:6379> GET key\n"value"\nredis> INCR n\n(integer) 1\n```\n\n```text\n$ docker run redis\n```\n';
    const { parsed, result } = run(md);
    expect(summary(result, parsed.sections).entities).to.deep.equal([
      'Command:SET',
      'Command:GET',
      'Command:INCR',
      'Command:docker',
    ]);
  });

  it('takes inline code that starts with a configured program or one of the document’s own', () => {
    const md = [
      '# A',
      'Run `redis-cli --tls -h host` or `valkey-cli`, then `XLEN mystream`; `ls -la` is not known here.',
      '# B',
      '```',
      '> XLEN mystream',
      '```',
    ].join('\n');
    const { parsed, result } = run(md, undefined, ['redis-cli']);
    expect(summary(result, parsed.sections).mentions).to.deep.equal([
      'A → Command:redis-cli ×1',
      'A → Parameter:--tls ×1',
      'A → Command:XLEN ×1',
      'B → Command:XLEN ×1',
    ]);
  });

  it('takes lines of unlabelled code blocks that start with a known program', () => {
    const md = '# C\n\n    ./redis-server --port 6380 --replicaof 127.0.0.1 6379\n\n```\nmaxmemory 2mb\n```\n';
    const { parsed, result } = run(md, undefined, ['redis-server']);
    expect(summary(result, parsed.sections).entities).to.deep.equal([
      'Command:redis-server',
      'Parameter:--port',
      'Parameter:--replicaof',
    ]);
  });
});

describe('extract: parameters', () => {
  it('flags and KEY=value in inline code, alone or after a known program', () => {
    const md = '# F\nUse `--maxmemory 2mb`, set `REDIS_URL=redis://h:6379` and `--tls`; `-p` and `a=b` are ignored.';
    const { parsed, result } = run(md);
    expect(summary(result, parsed.sections).entities).to.deep.equal([
      'Parameter:--maxmemory',
      'Parameter:REDIS_URL',
      'Parameter:--tls',
    ]);
  });

  it('top-level keys of YAML, JSON and INI-style blocks', () => {
    const md = [
      '# Config',
      '```yaml',
      'server:',
      '  port: 6379',
      '"quoted-key": 1',
      '- not: a key',
      'maxmemory: 2mb # comment',
      '```',
      '```json',
      '{ "bind": "0.0.0.0", "tls": { "port": 6380 }, "list": [{"x": 1}], "protected-mode": true }',
      '```',
      '```ini',
      '[redis]',
      'appendonly = yes',
      '; comment',
      'appendfsync: everysec',
      '```',
      '```env',
      'REDIS_PASSWORD=secret',
      '```',
    ].join('\n');
    const { parsed, result } = run(md);
    expect(summary(result, parsed.sections).entities).to.deep.equal([
      'Parameter:server',
      'Parameter:quoted-key',
      'Parameter:maxmemory',
      'Parameter:bind',
      'Parameter:tls',
      'Parameter:list',
      'Parameter:protected-mode',
      'Parameter:appendonly',
      'Parameter:appendfsync',
      'Parameter:REDIS_PASSWORD',
    ]);
  });

  it('dotted keys in inline code, but not file or host names', () => {
    const md = '# D\nSet `cluster.node.timeout` and `spring.redis.host`, not `redis.conf`, `packages.redis.io` or `1.2.3`.';
    const { parsed, result } = run(md);
    expect(summary(result, parsed.sections).entities).to.deep.equal([
      'Parameter:cluster.node.timeout',
      'Parameter:spring.redis.host',
    ]);
  });

  it('the first column of "Parameter | Description"-style tables', () => {
    const md = [
      '# T',
      '| Option | Default | Description |',
      '|---|---|---|',
      '| `maxclients` | 10000 | max clients |',
      '| timeout (seconds) | 0 | idle timeout |',
      '| `a\\|b` | | pipe |',
      '',
      '| Command | Description |',
      '|---|---|',
      '| not-a-param | x |',
    ].join('\n');
    const { parsed, result } = run(md);
    expect(summary(result, parsed.sections).entities).to.deep.equal([
      'Parameter:maxclients',
      'Parameter:timeout (seconds)',
      'Parameter:a|b',
    ]);
  });

  it('counts mentions per (section, entity) and shares global entities across sections', () => {
    const md = '# A\n`--tls` and `--tls` again.\n# B\n```sh\nredis-cli --tls\n```\n';
    const { parsed, result } = run(md, undefined, ['redis-cli']);
    const s = summary(result, parsed.sections);
    expect(s.entities).to.deep.equal(['Parameter:--tls', 'Command:redis-cli']);
    expect(s.mentions).to.deep.equal(['A → Parameter:--tls ×2', 'B → Command:redis-cli ×1', 'B → Parameter:--tls ×1']);
  });
});

describe('extract: procedures', () => {
  const md = [
    '# Install',
    '',
    '1. Download the tarball:',
    '   ```sh',
    '   wget https://download.redis.io/redis-stable.tar.gz',
    '   ```',
    '2. Build it with `make`.',
    '',
    'A paragraph breaks the list.',
    '',
    `3. ${'Start the server and check that it answers to a ping before going on. '.repeat(3)}`,
    '',
    '# Notes',
    '',
    '1. A single numbered item is not a procedure.',
  ].join('\n');
  const { docId, parsed, result } = run(md, undefined, ['make']);
  const install = parsed.sections[0]!;

  it('makes a section-scoped Procedure with ordered Steps from the ordered list items', () => {
    const procId = scopedEntityId(install.id, 'Procedure', 'Install');
    expect(install.id).to.equal(sectionId(docId, ['Install'], 0));
    expect(result.entities.filter((e) => e.kind === 'Procedure')).to.deep.equal([
      { id: procId, kind: 'Procedure', name: 'Install' },
    ]);
    const steps = result.entities.filter((e) => e.kind === 'Step');
    expect(steps.map((s) => s.name).slice(0, 2)).to.deep.equal(['Download the tarball:', 'Build it with `make`.']);
    expect(steps[2]!.name).to.equal(
      'Start the server and check that it answers to a ping before going on. Start the server and check that it answers to a p…',
    );
    expect([...steps[2]!.name].length).to.equal(120);
    expect(result.steps).to.deep.equal(
      [1, 2, 3].map((order) => ({ procedureId: procId, stepId: scopedEntityId(install.id, 'Step', order), order })),
    );
  });

  it('the section mentions the procedure, not its steps; the steps’ commands are mentioned', () => {
    expect(summary(result, parsed.sections).mentions).to.deep.equal([
      'Install → Command:wget ×1',
      'Install → Command:make ×1',
      'Install → Procedure:Install ×1',
    ]);
  });

  it('keeps every document’s "Install" procedure its own', () => {
    const other = run(md, 'file:///srv/docs/other.md', ['make']);
    const a = result.entities.find((e) => e.kind === 'Procedure')!.id;
    const b = other.result.entities.find((e) => e.kind === 'Procedure')!.id;
    expect(a).to.not.equal(b);
    // Commands and parameters are shared.
    expect(result.entities.find((e) => e.name === 'wget')!.id).to.equal(other.result.entities.find((e) => e.name === 'wget')!.id);
  });
});

describe('extract: references', () => {
  it('resolves relative .md links against file://, s3://, https:// and cli:// sources', () => {
    const cases: [string, string, string | null][] = [
      ['file:///srv/docs/guide/intro.md', '../ref/api.md#top', 'file:///srv/docs/ref/api.md'],
      ['file:///srv/docs/guide/intro.md', 'setup%20guide.md?x=1', 'file:///srv/docs/guide/setup guide.md'],
      ['file:///srv/docs/guide/intro.md', '/abs/x.md', 'file:///abs/x.md'],
      ['s3://bucket/docs/guide/intro.md', '../../top.md', 's3://bucket/top.md'],
      ['s3://bucket/docs/intro.md', 's3://bucket/docs/abs.md', 's3://bucket/docs/abs.md'],
      ['s3://bucket/docs/intro.md', 's3://other/docs/abs.md', null],
      ['https://docs.example.com/a/b/intro.md', 'c.md#s', 'https://docs.example.com/a/b/c.md'],
      ['https://docs.example.com/a/b/intro.md', '/x%20y.md', 'https://docs.example.com/x%20y.md'],
      ['https://docs.example.com/a/b/intro.md', 'https://docs.example.com/z.md', 'https://docs.example.com/z.md'],
      ['https://docs.example.com/a/b/intro.md', 'https://elsewhere.com/z.md', null],
      ['https://docs.example.com/a/b/intro.md', '//elsewhere.com/z.md', null],
      ['cli://docs/guide/intro.md', '../ref/api.md', 'cli://docs/ref/api.md'],
      ['cli://docs/intro.md', '../outside.md', 'cli://docs/../outside.md'],
      ['cli://docs/../up/intro.md', 'next.md', 'cli://docs/../up/next.md'],
      ['cli://docs/guide/intro.md', '/root.md', 'cli://docs/root.md'],
      ['file:///srv/docs/intro.md', 'https://example.com/a.md', null],
      ['file:///srv/docs/intro.md', 'image.png', null],
      ['file:///srv/docs/intro.md', 'mailto:a@b.c', null],
      ['file:///srv/docs/intro.md', 'javascript:alert(1)//.md', null],
    ];
    for (const [base, link, expected] of cases) {
      const t = resolveLink(link, base);
      expect(t === null ? null : t.kind === 'Document' ? t.sourceUri : `#${t.anchor}`, `${link} against ${base}`).to.equal(expected);
    }
  });

  it('checks what new URL would have done to cli:// paths with .. (why they are joined by hand)', () => {
    expect(new URL('cli://docs/../outside.md').href).to.equal('cli://docs/outside.md');
  });

  it('turns links into Document and Section references, de-duplicated, dropping dangling anchors', () => {
    const uri = 'cli://docs/guide/intro.md';
    const md = [
      '# Intro',
      'See [setup](#set-up), [setup again](#set-up), [missing](#nowhere), [api](../api.md#x),',
      '[self](intro.md#set-up), [bare self](./intro.md), [ext](https://redis.io/docs.md) and [enc](#Set%2DUp).',
      '## Set up',
      'Done.',
    ].join('\n');
    const { parsed, result } = run(md, uri);
    const [intro, setup] = parsed.sections;
    expect(result.references).to.deep.equal([
      { sectionId: intro!.id, targetKind: 'Section', targetId: setup!.id },
      { sectionId: intro!.id, targetKind: 'Document', targetId: documentId(TAG, 'cli://docs/api.md') },
    ]);
  });
});

describe('extract: entity hygiene', () => {
  it('only emits allowed kinds, trims and caps names, drops empty ones, de-duplicates by id', () => {
    const long = 'a'.repeat(300);
    const md = `# H\n\`${long}.b\` \`REDIS_URL=x\` \`redis_url=y\` \`\u200b\`\n\n| Name | Description |\n|---|---|\n| \u200b | zero width |\n| REDIS_URL | again |\n`;
    const { result } = run(md);
    for (const e of result.entities) expect(ENTITY_KINDS as readonly string[]).to.include(e.kind);
    const names = result.entities.map((e) => e.name);
    expect(names).to.deep.equal([`${long}.b`.slice(0, 200), 'REDIS_URL']);
    expect(new Set(result.entities.map((e) => e.id)).size).to.equal(result.entities.length);
  });

  it('depends only on the document and the configured programs', () => {
    const md = '# A\n```sh\nredis-cli --tls\n```\n';
    expect(run(md).result).to.deep.equal(run(md).result);
  });
});
