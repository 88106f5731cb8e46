import { ByteBudget } from '../../src/shared/http/byte-budget';
import { RawBody } from '../../src/shared/http/raw-body';

async function readAll(body: AsyncIterable<Buffer>): Promise<string> {
  let text = '';
  for await (const chunk of body) text += chunk.toString();
  return text;
}

describe('RawBody', () => {
  it('passes through: a chunk is dropped once read, so it cannot be sent again', async () => {
    const body = new RawBody(() => undefined);
    body.push(Buffer.from('head-'));
    body.keep(false);
    const reading = readAll(body.reader());
    body.push(Buffer.from('tail'));
    body.end();
    expect(await reading).toBe('head-tail');
    expect(body.replayable).toBe(false);
    expect(() => body.reader()).toThrow(/already been sent/);
  });

  it('is still replayable when nothing was read (a refused connection)', () => {
    const body = new RawBody(() => undefined);
    body.push(Buffer.from('abc'));
    body.keep(false);
    body.reader();
    expect(body.replayable).toBe(true);
  });

  it('keeps the bytes within the budget and sends them again from the start', async () => {
    const budget = new ByteBudget(100);
    const body = new RawBody(() => undefined);
    body.push(Buffer.from('abc'));
    body.keep(true, budget);
    body.push(Buffer.from('def'));
    body.end();
    expect(await readAll(body.reader())).toBe('abcdef');
    expect(body.replayable).toBe(true);
    expect(await readAll(body.reader())).toBe('abcdef');
    body.release();
    expect(budget.take(100)).toBe(true);
  });

  it('stops keeping once the budget is spent, and gives back what it held', async () => {
    const budget = new ByteBudget(5);
    const body = new RawBody(() => undefined);
    body.push(Buffer.from('abc'));
    body.keep(true, budget);
    const reader = body.reader()[Symbol.asyncIterator]();
    expect((await reader.next()).value.toString()).toBe('abc');
    body.push(Buffer.from('defgh')); // over the budget: no longer kept
    expect(body.replayable).toBe(false);
    expect(budget.take(5)).toBe(true);
    expect((await reader.next()).value.toString()).toBe('defgh');
  });

  it('signals back-pressure and calls onDrain once the reader catches up', async () => {
    let drained = 0;
    const body = new RawBody(() => drained++);
    body.keep(false);
    body.push(Buffer.alloc(300 * 1024));
    expect(body.full).toBe(true);
    const reader = body.reader()[Symbol.asyncIterator]();
    await reader.next();
    expect(body.full).toBe(false);
    expect(drained).toBe(1);
  });

  it('fails a waiting reader when the client goes away', async () => {
    const body = new RawBody(() => undefined);
    body.keep(false);
    const reading = readAll(body.reader());
    body.fail(new Error('client gone'));
    await expect(reading).rejects.toThrow('client gone');
  });
});
