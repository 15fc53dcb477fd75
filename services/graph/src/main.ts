/**
 * Composition root of the graph stage as its own process (the distributed deployment, DESIGN §3: one
 * container per service, `docker compose up --scale graph=N`). Needs shared stores (Neo4j, Qdrant): in the
 * embedded default only one process may open LadybugDB/LanceDB, and `ingestctl up` runs every stage itself.
 */
import { loadConfig, openRuntime, superviseService } from '@ingest/shared';
import { startGraphWorker } from './index.js';

const config = loadConfig();
const rt = await openRuntime(config, 'graph');
const { worker, close } = startGraphWorker(rt);
await superviseService(rt, { name: 'graph', worker, close });
