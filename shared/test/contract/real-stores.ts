/**
 * When the real-store contract suites (Neo4j, Qdrant) can run (DESIGN §13): when their URL variable is set
 * (the GitHub workflow runs both as service containers and sets NEO4J_URI / QDRANT_URL), or when a Docker
 * engine answers — then testcontainers starts the server and sets the variables. Otherwise they are
 * reported as pending with the reason — never a silent pass.
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

/** Starts the server a variable names in a container (testcontainers' reaper removes it after the run). */
async function startContainer(variable: string): Promise<void> {
  // Loaded only when a Docker engine answers: testcontainers' dependencies hook process signals on load.
  const { GenericContainer, Wait } = await import('testcontainers');
  if (variable === 'NEO4J_URI') {
    const password = 'contract-test-password';
    const c = await new GenericContainer('neo4j:5')
      .withEnvironment({ NEO4J_AUTH: `neo4j/${password}` })
      .withExposedPorts(7687)
      .withWaitStrategy(Wait.forLogMessage(/Started\./))
      .withStartupTimeout(180_000)
      .start();
    process.env.NEO4J_URI = `bolt://${c.getHost()}:${c.getMappedPort(7687)}`;
    process.env.NEO4J_USER = 'neo4j';
    process.env.NEO4J_PASSWORD = password;
    return;
  }
  if (variable === 'QDRANT_URL') {
    const c = await new GenericContainer('qdrant/qdrant:v1.19.0')
      .withExposedPorts(6333)
      .withWaitStrategy(Wait.forHttp('/readyz', 6333))
      .withStartupTimeout(120_000)
      .start();
    process.env.QDRANT_URL = `http://${c.getHost()}:${c.getMappedPort(6333)}`;
    return;
  }
  throw new Error(`no container known for ${variable}`);
}

/** null when the suite can run (the variable set, or a container started); else why it is pending. */
export async function pendingReason(variable: string): Promise<string | null> {
  if (process.env[variable]) return null;
  if (!(await dockerAnswers())) return `${variable} not set and no Docker engine`;
  try {
    await startContainer(variable);
    return null;
  } catch (error) {
    return `${variable} not set and its container did not start: ${(error as Error).message}`;
  }
}
