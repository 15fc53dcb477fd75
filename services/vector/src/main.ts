/**
 * Composition root of the vector stage as its own process (the distributed deployment, DESIGN §3: one
 * container per service, `docker compose up --scale vector=N`). Needs shared stores (Neo4j, Qdrant): in the
 * embedded default only one process may open LadybugDB/LanceDB, and `ingestctl up` runs every stage itself.
 */
import { loadConfig, openRuntime, superviseService } from '@ingest/shared';
import { startVectorWorker } from './index.js';

const config = loadConfig();
const rt = await openRuntime(config, 'vector');
const { worker, close } = startVectorWorker(rt);
await superviseService(rt, { name: 'vector', worker, close });
