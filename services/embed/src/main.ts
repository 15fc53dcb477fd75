/**
 * Composition root of the embed stage as its own process (the distributed deployment, DESIGN §3: one
 * container per service, `docker compose up --scale embed=N`). Needs shared stores (Neo4j, Qdrant): in the
 * embedded default only one process may open LadybugDB/LanceDB, and `ingestctl up` runs every stage itself.
 */
import { loadConfig, openRuntime, superviseService } from '@ingest/shared';
import { startEmbedWorker } from './index.js';

const config = loadConfig();
const rt = await openRuntime(config, 'embed');
const { worker, close } = startEmbedWorker(rt);
await superviseService(rt, { name: 'embed', worker, close });
