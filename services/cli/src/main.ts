import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ApiClient, CliError, resolveConnection } from './client.js';
import { ingestCommand } from './commands/ingest.command.js';
import { deleteCommand, queryCommand, reportCommand, statusCommand } from './commands/simple.commands.js';
import { upCommand } from './commands/up.command.js';
import { controlCommand, planCommand, queuesCommand, reconcileCommand, tailCommand, verifyCommand } from './commands/ops.commands.js';
import { mcpCommand } from './commands/mcp.command.js';
import { tombstonesCommand } from './commands/tombstones.command.js';

const USAGE = `ingestctl — drive graphrag-ingest (DESIGN §10)

  up [--data DIR] [--watch DIR]… [--source URI]… [--port N] [--processes [--compute-processes N]]
  ingest PATH… [--tag T] [--base DIR] [--wait] [--force] [--dry-run]
  status [JOB_ID] [--failed]
  report JOB_ID [--format json|md]
  query TEXT [--tag T] [--limit K]
  delete SOURCE_URI [--tag T]
  tail JOB_ID
  cancel JOB_ID | retry JOB_ID
  plan PATH… [--tag T] [--base DIR]
  verify [--tag T]
  reconcile [--tag T] [--repair]
  queues [list|pause STAGE|resume STAGE]
  tombstones [list|approve SCAN_ID]   (deletions held by the mass-delete guard)
  mcp                          (the MCP tools over stdio, for agents)

Every command takes --json, --url URL, --token TOKEN, --data DIR.
Exit codes: 0 success; 1 a job did not end DONE or SKIPPED, or a tag is not ready; 2 usage or connection error.`;

const OPTIONS = {
  json: { type: 'boolean', default: false },
  url: { type: 'string' },
  token: { type: 'string' },
  data: { type: 'string' },
  tag: { type: 'string' },
  base: { type: 'string' },
  wait: { type: 'boolean', default: false },
  force: { type: 'boolean', default: false },
  'dry-run': { type: 'boolean', default: false },
  failed: { type: 'boolean', default: false },
  format: { type: 'string', default: 'json' },
  limit: { type: 'string', default: '5' },
  watch: { type: 'string', multiple: true, default: [] as string[] },
  source: { type: 'string', multiple: true, default: [] as string[] },
  port: { type: 'string' },
  processes: { type: 'boolean', default: false },
  repair: { type: 'boolean', default: false },
  'compute-processes': { type: 'string', default: '1' },
  help: { type: 'boolean', short: 'h', default: false },
} satisfies ParseArgsConfig['options'];

async function run(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new CliError('USAGE', (error as Error).message);
  }
  const { values: v, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (v.help || !command) {
    process.stdout.write(`${USAGE}\n`);
    return command || v.help ? 0 : 2;
  }
  if (command === 'up') {
    const port = v.port === undefined ? undefined : Number(v.port);
    if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port < 65536)) throw new CliError('USAGE', '--port must be a port number');
    const computeProcesses = Number(v['compute-processes']);
    if (!Number.isInteger(computeProcesses) || computeProcesses < 1 || computeProcesses > 16) throw new CliError('USAGE', '--compute-processes must be 1–16');
    return upCommand({ data: v.data, watch: v.watch, source: v.source, port, processes: v.processes, computeProcesses, json: v.json });
  }
  const api = new ApiClient(await resolveConnection(v));
  const limit = Number(v.limit);
  switch (command) {
    case 'ingest':
      return ingestCommand(api, rest, { tag: v.tag ?? 'default', base: v.base, wait: v.wait, force: v.force, dryRun: v['dry-run'], json: v.json });
    case 'status':
      return statusCommand(api, rest[0], { failed: v.failed, json: v.json });
    case 'report':
      return reportCommand(api, rest[0], { format: v.format, json: v.json });
    case 'query':
      if (!Number.isInteger(limit) || limit < 1) throw new CliError('USAGE', '--limit must be a positive integer');
      return queryCommand(api, rest.join(' '), { tag: v.tag, limit, json: v.json });
    case 'delete':
      return deleteCommand(api, rest[0], { tag: v.tag, json: v.json });
    case 'tail':
      return tailCommand(api, rest[0], { json: v.json });
    case 'cancel':
    case 'retry':
      return controlCommand(api, command, rest[0], { json: v.json });
    case 'queues':
      return queuesCommand(api, rest, { json: v.json });
    case 'plan':
      return planCommand(api, rest, { tag: v.tag ?? 'default', base: v.base, json: v.json });
    case 'verify':
      return verifyCommand(api, { tag: v.tag ?? 'default', json: v.json });
    case 'reconcile':
      return reconcileCommand(api, { tag: v.tag ?? 'default', repair: v.repair, json: v.json });
    case 'tombstones':
      return tombstonesCommand(api, rest, { json: v.json });
    case 'mcp':
      return mcpCommand(api);
    default:
      throw new CliError('USAGE', `unknown command ${JSON.stringify(command)}; see ingestctl --help`);
  }
}

const json = process.argv.includes('--json');
run(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (error: unknown) => {
    const e = error instanceof CliError ? error : new CliError('INTERNAL', (error as Error)?.message ?? String(error), 2);
    if (json) process.stdout.write(`${JSON.stringify({ code: e.code, message: e.message })}\n`);
    else process.stderr.write(`ingestctl: ${e.code}: ${e.message}\n`);
    process.exitCode = e.exitCode;
  },
);
