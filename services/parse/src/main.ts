/**
 * Composition root of the parse stage as its own process (the distributed deployment, DESIGN §3: one
 * container per service, `docker compose up --scale parse=N`). Needs shared stores (Neo4j, Qdrant): in the
 * embedded default only one process may open LadybugDB/LanceDB, and `ingestctl up` runs every stage itself.
 */
import { loadConfig, openRuntime, superviseService } from '@ingest/shared';
import { startParseWorker } from './index.js';

const config = loadConfig();
const rt = await openRuntime(config, 'parse');
const { worker, close } = startParseWorker(rt);
await superviseService(rt, { name: 'parse', worker, close });
