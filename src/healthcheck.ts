/**
 * `node dist/healthcheck.js URL`: the HEALTHCHECK of our images. Exits 0 when URL answers 2xx within
 * 5 s, else 1 with one line saying what it got. A script of its own, not an `immich-ai` command: the
 * CLI loads Nest, onnxruntime and sharp before parsing its arguments, far too much for every 30 s.
 */
const TIMEOUT_MS = 5_000;

async function check(url: string): Promise<string | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    const body = (await response.text()).slice(0, 300).replace(/\s+/g, ' ');
    return response.ok ? undefined : `${url}: ${response.status} ${body}`;
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return `${url}: ${cause ?? (error as Error).message}`;
  }
}

const url = process.argv[2];
if (!url || !/^https?:\/\//.test(url)) {
  process.stderr.write('usage: node dist/healthcheck.js http://127.0.0.1:PORT/PATH\n');
  process.exit(2);
}
void check(url).then((problem) => {
  if (problem) process.stderr.write(`unhealthy: ${problem}\n`);
  process.exit(problem ? 1 : 0);
});
