/**
 * Composition root of the extract stage as its own process (the distributed deployment, DESIGN §3: one
 * container per service, `docker compose up --scale extract=N`). Needs shared stores (Neo4j, Qdrant): in the
 * embedded default only one process may open LadybugDB/LanceDB, and `ingestctl up` runs every stage itself.
 */
import { loadConfig, openRuntime, superviseService } from '@ingest/shared';
import { startExtractWorker } from './index.js';

const config = loadConfig();
const rt = await openRuntime(config, 'extract');
const { worker, close } = startExtractWorker(rt);
await superviseService(rt, { name: 'extract', worker, close });
