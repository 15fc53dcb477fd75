import type { FlowJob, JobsOptions } from 'bullmq';
import type { AppConfig } from '../config/config.types.js';
import { DELETE_STAGES, STAGES, nodeJobId, type StageJobData, type StageName } from './topology.js';

/**
 * One chain per document version, added atomically with one FlowProducer.add (DESIGN §2): the root is
 * the last stage, children run first. Queue defaultJobOptions do not apply to flow nodes (bullmq#1148),
 * so every node carries its own options.
 */
function nodeOptions(config: AppConfig, stage: StageName, jobId: string, isRoot: boolean): JobsOptions {
  const s = config.stages[stage];
  return {
    jobId: nodeJobId(jobId, stage),
    attempts: s.attempts,
    backoff: { type: 'exponential', delay: s.backoffMs, jitter: 0.3 },
    removeOnComplete: { age: config.queue.completedRetentionAgeSeconds, count: config.queue.completedRetentionCount },
    // A failed child is never removed: that would release its parent to run without input (DESIGN §6).
    removeOnFail: isRoot ? { age: config.queue.completedRetentionAgeSeconds } : false,
  };
}

function chain(config: AppConfig, data: StageJobData, order: readonly StageName[]): FlowJob {
  // order is execution order; build from the leaf up so the last stage is the root.
  let node: FlowJob | undefined;
  order.forEach((stage, i) => {
    const current: FlowJob = {
      name: `${data.op}:${stage}`.replace(':', '-'),
      queueName: stage,
      data,
      opts: nodeOptions(config, stage, data.jobId, i === order.length - 1),
      ...(node ? { children: [node] } : {}),
    };
    node = current;
  });
  return node!;
}

export const ingestFlow = (config: AppConfig, data: StageJobData): FlowJob => chain(config, data, STAGES);
export const deleteFlow = (config: AppConfig, data: StageJobData): FlowJob => chain(config, data, DELETE_STAGES);
