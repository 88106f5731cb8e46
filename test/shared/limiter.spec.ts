import { ConcurrencyLimiter, QueueFullError } from '../../src/shared/queue/limiter';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('ConcurrencyLimiter', () => {
  it('runs at most `concurrency` tasks, queues `queueSize`, refuses the rest', async () => {
    const limiter = new ConcurrencyLimiter(2, 1);
    const gates = [deferred(), deferred(), deferred()];
    const order: number[] = [];
    const runs = gates.map((gate, i) =>
      limiter.run(async () => {
        order.push(i);
        await gate.promise;
        return i;
      }),
    );
    await tick();
    expect(limiter.state).toEqual({ active: 2, queued: 1 });
    expect(order).toEqual([0, 1]);
    await expect(limiter.run(async () => 99)).rejects.toBeInstanceOf(QueueFullError);

    gates[1].resolve();
    await tick();
    expect(order).toEqual([0, 1, 2]); // the queued task took the freed slot
    expect(limiter.state).toEqual({ active: 2, queued: 0 });
    gates[0].resolve();
    gates[2].resolve();
    expect(await Promise.all(runs)).toEqual([0, 1, 2]);
    expect(limiter.state).toEqual({ active: 0, queued: 0 });
  });

  it('serves the queue first in, first out', async () => {
    const limiter = new ConcurrencyLimiter(1, 5);
    const gate = deferred();
    const order: number[] = [];
    const first = limiter.run(() => gate.promise);
    const rest = [1, 2, 3].map((i) => limiter.run(async () => void order.push(i)));
    gate.resolve();
    await Promise.all([first, ...rest]);
    expect(order).toEqual([1, 2, 3]);
  });

  it('frees the slot when a task throws', async () => {
    const limiter = new ConcurrencyLimiter(1, 0);
    await expect(limiter.run(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(limiter.run(async () => 'ok')).resolves.toBe('ok');
  });

  it('drops a waiting task whose signal aborts, without running it', async () => {
    const limiter = new ConcurrencyLimiter(1, 2);
    const gate = deferred();
    const running = limiter.run(() => gate.promise);
    const abort = new AbortController();
    let ran = false;
    const waiting = limiter.run(async () => void (ran = true), abort.signal);
    await tick();
    expect(limiter.state.queued).toBe(1);
    abort.abort();
    await expect(waiting).rejects.toThrow();
    expect(limiter.state.queued).toBe(0);
    gate.resolve();
    await running;
    expect(ran).toBe(false);
    expect(limiter.state).toEqual({ active: 0, queued: 0 });
  });

  it('reports every state change, down to idle', async () => {
    const states: string[] = [];
    const limiter = new ConcurrencyLimiter(1, 1, (s: { active: number; queued: number }) =>
      states.push(`${s.active}/${s.queued}`),
    );
    const gate = deferred();
    const a = limiter.run(() => gate.promise);
    const b = limiter.run(async () => undefined);
    await tick();
    gate.resolve();
    await Promise.all([a, b]);
    expect(states).toEqual(['1/0', '1/1', '1/0', '0/0']);
  });

  it('suggests a Retry-After of at least one second', async () => {
    const limiter = new ConcurrencyLimiter(1, 0);
    expect(limiter.retryAfterSeconds()).toBe(1);
  });
});
