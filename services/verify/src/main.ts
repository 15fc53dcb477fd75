/**
 * Composition root of the verify stage as its own process (the distributed deployment, DESIGN §3: one
 * container per service, `docker compose up --scale verify=N`). Needs shared stores (Neo4j, Qdrant): in the
 * embedded default only one process may open LadybugDB/LanceDB, and `ingestctl up` runs every stage itself.
 */
import { loadConfig, openRuntime, superviseService } from '@ingest/shared';
import { startVerifyWorker } from './index.js';

const config = loadConfig();
const rt = await openRuntime(config, 'verify');
const { worker, close } = startVerifyWorker(rt);
await superviseService(rt, { name: 'verify', worker, close });
