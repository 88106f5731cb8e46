/**
 * Collects the `Server-Timing` header of one request (queue wait, model run), so a client — the
 * benchmark, or a browser's network panel — can tell service time from everything around it
 * without a second measurement that would see another run of the model.
 */
export class ServerTiming {
  private readonly entries: Array<[string, number]> = [];

  add(name: string, milliseconds: number): void {
    this.entries.push([name, milliseconds]);
  }

  toString(): string {
    return this.entries.map(([name, ms]) => `${name};dur=${ms.toFixed(2)}`).join(', ');
  }
}

/** Runs a handler with a fresh ServerTiming and puts the header on its (successful) response. */
export async function withServerTiming<T>(
  res: { headersSent: boolean; setHeader(name: string, value: string): unknown },
  handler: (timing: ServerTiming) => Promise<T>,
): Promise<T> {
  const timing = new ServerTiming();
  const result = await handler(timing);
  const header = timing.toString();
  if (header && !res.headersSent) res.setHeader('Server-Timing', header);
  return result;
}
