/* global fetch, AbortSignal */
// Container healthcheck (docker-compose.yml, infra/Dockerfile). Without arguments: healthy when the
// heartbeat file superviseService writes (INGEST_HEARTBEAT_FILE) is fresher than INGEST_HEARTBEAT_MAX_AGE_MS
// (default 30 s). With a URL argument: healthy when GET <url> answers 2xx within 4 s.
import { statSync } from 'node:fs';

const url = process.argv[2];
if (url) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(4000) });
    process.exit(res.ok ? 0 : 1);
  } catch {
    process.exit(1);
  }
}
const file = process.env.INGEST_HEARTBEAT_FILE ?? '/tmp/ingest-heartbeat';
const maxAge = Number(process.env.INGEST_HEARTBEAT_MAX_AGE_MS ?? 30_000);
try {
  process.exit(Date.now() - statSync(file).mtimeMs <= maxAge ? 0 : 1);
} catch {
  process.exit(1);
}
