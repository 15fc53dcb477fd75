import { expect } from 'chai';
import { Redis } from 'ioredis';
import { FlowProducer, Queue, Worker } from 'bullmq';
import { bullmqQueueReader, IngestMetrics } from '../../src/metrics/metrics.js';
import { startTestRedis, type TestRedis } from '../../../test/helpers/redis.js';

const PREFIX = '{ingest}';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('metrics: queue depth and age sampler against BullMQ (real Redis)', function () {
  this.timeout(30_000);
  let server: TestRedis;
  let redis: Redis;
  let flows: FlowProducer;
  before(async () => {
    server = await startTestRedis();
    redis = new Redis(server.url, { maxRetriesPerRequest: null });
    await redis.flushdb();
    flows = new FlowProducer({ connection: redis, prefix: PREFIX });
  });
  after(async () => {
    await flows?.close();
    redis?.disconnect();
    await server?.stop();
  });

  it('reads depths per BullMQ state, and ages a later stage from when its child finished, not from the flow', async () => {
    const reader = bullmqQueueReader(redis, PREFIX);
    try {
      await flows.add({ name: 'c', queueName: 'extract', data: {}, opts: { jobId: 'doc1-extract' }, children: [{ name: 'c', queueName: 'parse', data: {}, opts: { jobId: 'doc1-parse' } }] });
      const delayed = new Queue('embed', { connection: redis, prefix: PREFIX });
      await delayed.add('d', {}, { delay: 60_000 });
      await delayed.close();
      await sleep(1500);

      let byQueue = new Map((await reader.read()).map((s) => [s.queue, s]));
      expect([...byQueue.keys()]).to.deep.equal(['parse', 'extract', 'embed', 'graph', 'vector', 'verify']);
      expect(byQueue.get('parse')!.counts).to.include({ waiting: 1, active: 0 });
      expect(byQueue.get('extract')!.counts).to.include({ 'waiting-children': 1, waiting: 0 });
      expect(byQueue.get('embed')!.counts).to.include({ delayed: 1, waiting: 0 });
      expect(byQueue.get('parse')!.oldestWaitingAgeSeconds).to.be.within(1.4, 5);
      expect(byQueue.get('extract')!.oldestWaitingAgeSeconds).to.equal(0);
      expect(byQueue.get('embed')!.oldestWaitingAgeSeconds, 'a delayed job is not waiting yet').to.equal(0);

      // parse completes → extract becomes ready now, though its flow was added 1.5 s ago.
      const workerConnection = redis.duplicate();
      const worker = new Worker('parse', async () => 'ok', { connection: workerConnection, prefix: PREFIX });
      const deadline = Date.now() + 10_000;
      do {
        await sleep(50);
        byQueue = new Map((await reader.read()).map((s) => [s.queue, s]));
      } while (byQueue.get('extract')!.counts.waiting !== 1 && Date.now() < deadline);
      await worker.close();
      workerConnection.disconnect(); // a connection handed to BullMQ is the caller's to close
      expect(byQueue.get('parse')!.counts).to.include({ completed: 1, waiting: 0 });
      expect(byQueue.get('extract')!.counts).to.include({ waiting: 1, 'waiting-children': 0 });
      expect(byQueue.get('extract')!.oldestWaitingAgeSeconds).to.be.below(1);
    } finally {
      await reader.close();
    }
  });

  it('feeds the registry from the sampler, so /metrics shows the queues without touching Redis', async () => {
    const m = new IngestMetrics({ defaults: false });
    m.startQueueSampler(bullmqQueueReader(redis, PREFIX), 50);
    await sleep(300);
    const body = (await m.scrape()).body;
    await m.close();
    expect(body).to.match(/^ingest_queue_depth\{queue="extract",state="waiting"\} 1$/m);
    expect(body).to.match(/^ingest_queue_depth\{queue="parse",state="completed"\} 1$/m);
    expect(body).to.match(/^ingest_queue_depth\{queue="embed",state="delayed"\} 1$/m);
    expect(body).to.match(/^ingest_queue_oldest_age_seconds\{queue="extract"\} [0-9.]+$/m);
  });
});
