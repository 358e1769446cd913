// BullMQ, the job queue most Node applications put on Redis, run unchanged
// on `xrpkv serve` and on Debian's redis-server 7.0 (started here): it
// drives the server through Lua scripts (EVALSHA, cmsgpack, cjson), sorted
// sets, lists, hashes, streams (its events: XADD with MAXLEN ~, XREAD
// BLOCK) and blocking moves. The same workload must end the same way on
// both: every job completed or failed as its options say, the retries,
// delays, priorities and a parent waiting on its children, and the events.
import { FlowProducer, Queue, QueueEvents, Worker, type Job } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { useServerBesideRedis } from './server-fixtures.js';

const beside = useServerBesideRedis('bullmq.xrpkv');

interface Outcome {
  counts: Record<string, number>;
  results: Record<string, unknown>;
  attempts: Record<string, number>;
  failedReasons: Record<string, string>;
  events: { completed: number; failed: number };
}

const JOBS = 120;

async function workload(port: number, name: string): Promise<Outcome> {
  const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };
  const queue = new Queue(name, { connection });
  const events = new QueueEvents(name, { connection });
  const flow = new FlowProducer({ connection });
  const seen = { completed: 0, failed: 0 };
  events.on('completed', () => seen.completed++);
  events.on('failed', () => seen.failed++);
  await events.waitUntilReady();
  const worker = new Worker(
    name,
    async (job: Job) => {
      if (job.data.flaky && job.attemptsMade < 2) throw new Error(`flaky ${job.data.n}`);
      if (job.data.broken) throw new Error(`broken ${job.data.n}`);
      return { doubled: job.data.n * 2, children: job.name === 'parent' ? Object.values(await job.getChildrenValues()).length : 0 };
    },
    { connection, concurrency: 8 },
  );
  try {
    await queue.addBulk(
      Array.from({ length: JOBS }, (_, n) => ({
        name: 'job',
        data: { n, flaky: n % 10 === 0, broken: n % 40 === 7 },
        opts: { jobId: `j${n}`, attempts: 3, backoff: { type: 'fixed', delay: 20 }, priority: n % 3, delay: n % 25 === 5 ? 100 : 0 },
      })),
    );
    await flow.add({ name: 'parent', queueName: name, data: { n: 1000 }, opts: { jobId: 'parent' }, children: [1, 2].map((c) => ({ name: 'child', queueName: name, data: { n: 1000 + c }, opts: { jobId: `child${c}` } })) });
    const total = JOBS + 3;
    const deadline = Date.now() + 60_000;
    let counts: Record<string, number> = {};
    while (Date.now() < deadline) {
      counts = await queue.getJobCounts('completed', 'failed', 'waiting', 'active', 'delayed', 'prioritized', 'waiting-children');
      if (counts.completed! + counts.failed! === total && seen.completed + seen.failed === total) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const jobs = [...(await queue.getJobs(['completed'])), ...(await queue.getJobs(['failed']))];
    const by = <T>(f: (j: Job) => T) => Object.fromEntries(jobs.map((j) => [j.id!, f(j)]).sort(([a], [b]) => String(a).localeCompare(String(b))));
    return { counts, results: by((j) => j.returnvalue), attempts: by((j) => j.attemptsMade), failedReasons: by((j) => j.failedReason ?? ''), events: seen };
  } finally {
    await worker.close();
    await events.close();
    await flow.close();
    await queue.obliterate({ force: true });
    await queue.close();
  }
}

describe('BullMQ', () => {
  it('runs the same jobs to the same ends on xrpkv serve as on redis-server: retries, delays, priorities, a flow and its events', async () => {
    const [ours, theirs] = await Promise.all([workload(beside.server.port, 'q-ours'), workload(beside.redisPort, 'q-theirs')]);
    expect(ours).toEqual(theirs);
    expect(ours.counts).toMatchObject({ completed: JOBS + 3 - 3, failed: 3, waiting: 0, active: 0, delayed: 0 });
    expect(ours.results['parent']).toEqual({ doubled: 2000, children: 2 });
    expect(ours.attempts['j10']).toBe(3);
    expect(ours.failedReasons['j47']).toBe('broken 47');
    // Obliterated: nothing of the queue is left.
    expect(await beside.ours.keys('bull:q-ours:*')).toEqual([]);
  }, 120_000);
});
