/**
 * Gateway benchmark: the latency the gateway adds over calling the upstream directly (p50, p99), its
 * throughput, and its peak memory, for Immich-sized requests streamed through the Immich protocol.
 *
 *   npx tsc -p tsconfig.bench.json && node dist-bench/bench/gateway.js [flags]
 *
 * Flags:
 *   --sizes LIST         image sizes in MB (default 1,5)
 *   --concurrency LIST   client concurrency levels (default 1,16,64)
 *   --requests N         timed requests per size, level and path (default 200; at least 4 per client)
 *   --json               one JSON object on stdout instead of the table
 *
 * Separate processes, so the gateway's memory is its own: this one (the load generator: one prebuilt
 * multipart body per size, sent over pooled keep-alive connections), an upstream child that reads each
 * body and answers like Immich ML's clip visual (a 512-number embedding), a fresh gateway child per
 * scenario, and a reference "bare proxy" child: the least any Node.js hop can cost (undici, the request
 * piped straight through, no parsing, no routing). Each scenario runs direct, bare and gateway calls
 * back to back on the same machine, so "added" compares like with like, and "bare" shows how much of it
 * is the machine's price for one more loopback hop rather than the gateway's own work. Peak RSS is the
 * gateway process's high-water mark (VmHWM from /proc), warm-up included. A last scenario routes to two
 * upstreams, which makes the gateway keep bodies for failover (within REPLAY_BUDGET_BYTES), to show
 * that this memory stays bounded too.
 */
import { ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { gatewayConfig, gatewayRoute } from '../src/config/gateway.config';
import { createGatewayApp } from '../src/gateway/create-gateway-app';
import { int, intList, parseFlags, percentile } from './support';

interface Options {
  sizes: number[];
  concurrency: number[];
  requests: number;
  json: boolean;
}

interface Scenario {
  sizeMb: number;
  concurrency: number;
  upstreams: number;
}

interface Result extends Scenario {
  requests: number;
  direct: { p50: number; p99: number };
  bare: { p50: number; p99: number };
  gateway: { p50: number; p99: number };
  addedP50: number;
  addedP99: number;
  gatewayRps: number;
  gatewayMBps: number;
  peakRssMb: number;
  errors: number;
}

const MB = 1024 * 1024;
const ENTRIES = JSON.stringify({ clip: { visual: { modelName: 'ViT-B-16__openai' } } });
const BOUNDARY = 'formdata-undici-0bench0000000';

// ---- children --------------------------------------------------------------------------------------

/** Immich ML stand-in: reads the whole body, answers a clip visual response of realistic size. */
async function runUpstream(): Promise<void> {
  const embedding = JSON.stringify(Array.from({ length: 512 }, (_, i) => Math.sin(i) / 22.6));
  const answer = JSON.stringify({ clip: embedding, imageHeight: 1080, imageWidth: 1440 });
  const server = createServer((req, res) => {
    if (req.url === '/ping') return res.end('pong');
    req.on('data', () => undefined);
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
      res.end(answer);
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.send!({ port: (server.address() as AddressInfo).port });
}

/** The reference hop: request piped to the upstream and the answer piped back, nothing else. */
async function runBareProxy(upstream: string): Promise<void> {
  const pool = new Pool(upstream);
  const server = createServer((req, res) => {
    const headers = {
      'content-type': req.headers['content-type'] ?? '',
      'content-length': req.headers['content-length'] ?? '0',
    };
    pool.request({ method: 'POST', path: req.url ?? '/', headers, body: req }).then(
      (answer) => {
        res.writeHead(answer.statusCode, { 'content-type': 'application/json' });
        answer.body.pipe(res);
      },
      () => res.writeHead(502).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.send!({ port: (server.address() as AddressInfo).port });
}

async function runGateway(upstreams: string[]): Promise<void> {
  const config = gatewayConfig({
    port: 0,
    host: '127.0.0.1',
    accessLog: false,
    routes: { immich: gatewayRoute(upstreams) },
    tasks: { default: 'immich' },
  });
  const app = await createGatewayApp(config, { logger: ['error'] });
  await app.listen(0, '127.0.0.1');
  // A sampled peak as well, for systems without /proc.
  let peak = process.memoryUsage.rss();
  setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 5).unref();
  process.on('message', (message: { cmd: string }) => {
    if (message.cmd === 'peak') process.send!({ peak: Math.max(peak, process.memoryUsage.rss()) });
  });
  process.send!({ port: (app.getHttpServer().address() as AddressInfo).port });
}

function start(role: string, args: string[] = []): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(__filename, [role, ...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (message: { port: number }) => resolve({ child, port: message.port }));
    child.once('exit', (code) => reject(new Error(`${role} exited with ${code}`)));
  });
}

function peakRss(child: ChildProcess): Promise<number> {
  try {
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    const kb = /VmHWM:\s+(\d+) kB/.exec(status);
    if (kb) return Promise.resolve(Number(kb[1]) * 1024);
  } catch {
    // not Linux: ask the child for its sampled peak
  }
  return new Promise((resolve) => {
    child.once('message', (message: { peak: number }) => resolve(message.peak));
    child.send({ cmd: 'peak' });
  });
}

// ---- load ------------------------------------------------------------------------------------------

function multipartBody(sizeMb: number): { body: Buffer; contentType: string } {
  const image = Buffer.alloc(sizeMb * MB);
  for (let i = 0; i < image.length; i += 4096) image[i] = i & 0xff;
  const body = Buffer.concat([
    Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="entries"\r\n\r\n${ENTRIES}\r\n`),
    Buffer.from(
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="image"; filename="blob"\r\n` +
        'Content-Type: application/octet-stream\r\n\r\n',
    ),
    image,
    Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
  ]);
  return { body, contentType: `multipart/form-data; boundary=${BOUNDARY}` };
}

/** Sends `count` requests with `concurrency` clients; returns each latency in ms and the wall time. */
async function load(
  port: number,
  payload: { body: Buffer; contentType: string },
  concurrency: number,
  count: number,
): Promise<{ latencies: number[]; wallMs: number; errors: number }> {
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: concurrency, keepAliveTimeout: 10_000 });
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const headers = { 'content-type': payload.contentType, 'content-length': String(payload.body.length) };
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        next++;
        const t0 = performance.now();
        try {
          const response = await pool.request({ method: 'POST', path: '/predict', headers, body: payload.body });
          await response.body.text();
          if (response.statusCode !== 200) errors++;
        } catch {
          errors++;
        }
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const wallMs = performance.now() - started;
  await pool.close();
  return { latencies, wallMs, errors };
}

async function runScenario(
  scenario: Scenario,
  upstreamPort: number,
  barePort: number,
  requests: number,
): Promise<Result> {
  const urls = [`http://127.0.0.1:${upstreamPort}`, `http://localhost:${upstreamPort}`].slice(0, scenario.upstreams);
  const gateway = await start('gateway', [JSON.stringify(urls)]);
  try {
    const payload = multipartBody(scenario.sizeMb);
    const count = Math.max(requests, scenario.concurrency * 4);
    // Warm-up: JIT, connection pools on every side.
    const warm = Math.max(20, scenario.concurrency * 2);
    for (const port of [upstreamPort, barePort, gateway.port]) await load(port, payload, scenario.concurrency, warm);

    const direct = await load(upstreamPort, payload, scenario.concurrency, count);
    const bare = await load(barePort, payload, scenario.concurrency, count);
    const through = await load(gateway.port, payload, scenario.concurrency, count);
    const stats = (run: { latencies: number[] }) => ({
      p50: percentile(run.latencies, 50),
      p99: percentile(run.latencies, 99),
    });
    const [d, g] = [stats(direct), stats(through)];
    const rps = (count / through.wallMs) * 1000;
    return {
      ...scenario,
      requests: count,
      direct: d,
      bare: stats(bare),
      gateway: g,
      addedP50: g.p50 - d.p50,
      addedP99: g.p99 - d.p99,
      gatewayRps: rps,
      gatewayMBps: (rps * payload.body.length) / MB,
      peakRssMb: (await peakRss(gateway.child)) / MB,
      errors: direct.errors + bare.errors + through.errors,
    };
  } finally {
    gateway.child.kill();
  }
}

function parseOptions(argv: string[]): Options {
  const flags = parseFlags(argv, {
    sizes: { type: 'string' },
    concurrency: { type: 'string' },
    requests: { type: 'string' },
    json: { type: 'boolean' },
  });
  return {
    sizes: intList('--sizes', flags.sizes, 1) ?? [1, 5],
    concurrency: intList('--concurrency', flags.concurrency, 1) ?? [1, 16, 64],
    requests: int('--requests', flags.requests, 1) ?? 200,
    json: flags.json ?? false,
  };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const upstream = await start('upstream');
  const bare = await start('bare', [`http://127.0.0.1:${upstream.port}`]);
  const results: Result[] = [];
  try {
    const scenarios: Scenario[] = options.sizes.flatMap((sizeMb) =>
      options.concurrency.map((concurrency) => ({ sizeMb, concurrency, upstreams: 1 })),
    );
    const largest = Math.max(...options.sizes);
    const busiest = Math.max(...options.concurrency);
    scenarios.push({ sizeMb: largest, concurrency: busiest, upstreams: 2 });
    for (const scenario of scenarios) {
      const result = await runScenario(scenario, upstream.port, bare.port, options.requests);
      results.push(result);
      if (!options.json) process.stderr.write(`done: ${scenario.sizeMb} MB x ${scenario.concurrency}\n`);
    }
  } finally {
    upstream.child.kill();
    bare.child.kill();
  }

  if (options.json) {
    process.stdout.write(`${JSON.stringify({ node: process.version, cpus: os.cpus().length, results })}\n`);
    return;
  }
  const ms = (value: number) => value.toFixed(2).padStart(7);
  console.log(`gateway benchmark: Node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'})`);
  console.log(
    'size  conc ups  reqs | direct p50    p99 | bare +p50 | gateway p50    p99 | added p50    p99 |  req/s   MB/s | peak RSS | err',
  );
  for (const r of results) {
    console.log(
      `${`${r.sizeMb}MB`.padEnd(5)} ${String(r.concurrency).padStart(4)} ${String(r.upstreams).padStart(3)} ` +
        `${String(r.requests).padStart(5)} |    ${ms(r.direct.p50)} ${ms(r.direct.p99)} |   ${ms(r.bare.p50 - r.direct.p50)} ` +
        `|     ${ms(r.gateway.p50)} ${ms(r.gateway.p99)} | ${ms(r.addedP50)} ${ms(r.addedP99)} ` +
        `| ${r.gatewayRps.toFixed(0).padStart(6)} ${r.gatewayMBps.toFixed(0).padStart(6)} ` +
        `| ${r.peakRssMb.toFixed(0).padStart(5)} MB | ${r.errors}`,
    );
  }
  console.log(
    'latencies in ms; added = gateway minus direct at the same percentile; bare +p50 = what a bare Node.js ' +
      'proxy adds at p50 in the same run; ups = upstreams in the route; req/s and MB/s through the gateway',
  );
}

const role = process.argv[2];
const run =
  role === 'upstream'
    ? runUpstream()
    : role === 'bare'
      ? runBareProxy(process.argv[3])
      : role === 'gateway'
        ? runGateway(JSON.parse(process.argv[3]) as string[])
        : main();
run.catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
