/**
 * When the real-store contract suites (Neo4j, Qdrant) can run (DESIGN §13): when their URL variable is set
 * (the GitHub workflow runs both as service containers and sets NEO4J_URI / QDRANT_URL). Otherwise they
 * are reported as pending with the reason — never a silent pass. Whether a Docker engine answers is part
 * of the reason; this build does not start containers itself (no testcontainers dependency).
 */
import { request } from 'node:http';

/** True when a Docker engine answers `GET /_ping` on its socket (DOCKER_HOST unix:// or the default). */
export function dockerAnswers(timeoutMs = 1000): Promise<boolean> {
  const host = process.env.DOCKER_HOST;
  const socketPath = host?.startsWith('unix://') ? host.slice('unix://'.length) : host ? null : '/var/run/docker.sock';
  if (!socketPath) return Promise.resolve(false);
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', method: 'GET', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

/** null when `variable` is set; else why the suite is pending. */
export async function pendingReason(variable: string): Promise<string | null> {
  if (process.env[variable]) return null;
  return (await dockerAnswers())
    ? `${variable} not set (a Docker engine answers, but this build does not start containers; set ${variable})`
    : `${variable} not set and no Docker engine`;
}
