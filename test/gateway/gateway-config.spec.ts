import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GatewayConfigError, loadGatewayConfig } from '../../src/config/gateway.config';
import { RoutingTable } from '../../src/gateway/routing-table';

const problemsOf = (env: NodeJS.ProcessEnv): string[] => {
  try {
    loadGatewayConfig(env);
  } catch (error) {
    if (error instanceof GatewayConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected the configuration to be refused');
};

const file = (name: string, text: string): string => {
  const path = join(mkdtempSync(join(tmpdir(), 'gateway-config-')), name);
  writeFileSync(path, text);
  return path;
};

describe('gateway config', () => {
  it('defaults: port 8080, clip and ocr to the inference service on 8060, the rest to Immich ML on 3003', () => {
    const config = loadGatewayConfig({});
    expect(config.port).toBe(8080);
    expect(config.tasks).toEqual({ clip: 'inference', ocr: 'inference', default: 'immich' });
    expect(config.routes.inference).toMatchObject({ protocol: 'immich', upstreams: ['http://localhost:8060'] });
    expect(config.routes.immich).toMatchObject({ protocol: 'immich', upstreams: ['http://localhost:3003'] });
    const table = new RoutingTable(config);
    expect(table.routeFor('clip').name).toBe('inference');
    expect(table.routeFor('ocr').name).toBe('inference');
    expect(table.routeFor('facial-recognition').name).toBe('immich');
    expect(table.routeFor('anything-new').name).toBe('immich');
  });

  it('reads the seed’s variables: IMMICH_API, MT_PHOTOS_API, MT_PHOTOS_API_KEY, PORT', () => {
    const config = loadGatewayConfig({
      PORT: '9000',
      IMMICH_API: 'http://immich-machine-learning:3003/',
      MT_PHOTOS_API: 'http://mt-photos-ai:8060',
      MT_PHOTOS_API_KEY: 'secret',
      INFERENCE_PROTOCOL: 'mt-photos',
    });
    expect(config.port).toBe(9000);
    expect(config.routes.immich.upstreams).toEqual(['http://immich-machine-learning:3003']);
    expect(config.routes.inference).toMatchObject({
      protocol: 'mt-photos',
      upstreams: ['http://mt-photos-ai:8060'],
      apiKey: 'secret',
    });
  });

  it('takes several upstreams per route and per-route timeouts', () => {
    const config = loadGatewayConfig({
      INFERENCE_API: 'http://a:8060, http://b:8060',
      UPSTREAM_CONNECT_TIMEOUT_MS: '500',
      UPSTREAM_TIMEOUT_MS: '30000',
    });
    expect(config.routes.inference).toMatchObject({
      upstreams: ['http://a:8060', 'http://b:8060'],
      connectTimeoutMs: 500,
      timeoutMs: 30_000,
    });
  });

  it('GATEWAY_ROUTE_<TASK> gives one task its own upstreams and protocol', () => {
    const config = loadGatewayConfig({
      GATEWAY_ROUTE_OCR: 'http://ocr-1:8060,http://ocr-2:8060',
      GATEWAY_ROUTE_OCR_PROTOCOL: 'mt-photos',
      MT_PHOTOS_API_KEY: 'k',
      GATEWAY_ROUTE_FACIAL_RECOGNITION: 'http://faces:3003',
    });
    const table = new RoutingTable(config);
    expect(table.routeFor('ocr')).toMatchObject({
      protocol: 'mt-photos',
      upstreams: ['http://ocr-1:8060', 'http://ocr-2:8060'],
    });
    expect(table.routeFor('clip')).toMatchObject({ protocol: 'immich', upstreams: ['http://localhost:8060'] });
    expect(table.routeFor('facial-recognition').upstreams).toEqual(['http://faces:3003']);
    expect(table.routeFor('other').upstreams).toEqual(['http://localhost:3003']);
  });

  it('reads a YAML routing file, and variables that are set still win', () => {
    const path = file(
      'gateway.yaml',
      [
        'port: 8181',
        'routes:',
        '  gpu:',
        '    upstreams: [http://gpu-1:8060, http://gpu-2:8060]',
        '    timeoutMs: 20000',
        '  legacy:',
        '    protocol: mt-photos',
        '    apiKey: from-file',
        '    upstreams: [http://nas:8060]',
        'tasks:',
        '  clip: gpu',
        '  ocr: legacy',
        'health:',
        '  intervalMs: 1000',
      ].join('\n'),
    );
    const config = loadGatewayConfig({ GATEWAY_CONFIG: path, PORT: '8282' });
    expect(config.port).toBe(8282);
    expect(config.health.intervalMs).toBe(1000);
    const table = new RoutingTable(config);
    expect(table.routeFor('clip')).toMatchObject({
      name: 'gpu',
      timeoutMs: 20_000,
      upstreams: ['http://gpu-1:8060', 'http://gpu-2:8060'],
    });
    expect(table.routeFor('ocr')).toMatchObject({ name: 'legacy', protocol: 'mt-photos', apiKey: 'from-file' });
    // The built-in inference route is no longer used by any task, so it is not kept (nor health-checked).
    expect(Object.keys(config.routes).sort()).toEqual(['gpu', 'immich', 'legacy']);
  });

  it('reads a JSON routing file', () => {
    const path = file(
      'gateway.json',
      JSON.stringify({ routes: { faces: { upstreams: ['http://f:3003'] } }, tasks: { default: 'faces' } }),
    );
    expect(new RoutingTable(loadGatewayConfig({ GATEWAY_CONFIG: path })).routeFor('facial-recognition').name).toBe(
      'faces',
    );
  });

  describe('fails at start with a message naming the key', () => {
    it('a bad URL', () => {
      expect(problemsOf({ IMMICH_API: 'localhost:3003' })).toEqual([
        'IMMICH_API="localhost:3003": expected an http(s) URL without query or fragment',
      ]);
    });

    it('a bad number and a bad protocol at once', () => {
      expect(problemsOf({ PORT: 'eighty', INFERENCE_PROTOCOL: 'grpc' })).toEqual([
        'PORT="eighty": expected a whole number',
        'INFERENCE_PROTOCOL="grpc": expected immich or mt-photos',
      ]);
    });

    it('MT-Photos mode without MT_PHOTOS_API_KEY', () => {
      expect(problemsOf({ INFERENCE_PROTOCOL: 'mt-photos' })).toEqual([
        'MT_PHOTOS_API_KEY: required when clip uses the mt-photos protocol (route "inference")',
        'MT_PHOTOS_API_KEY: required when ocr uses the mt-photos protocol (route "inference")',
      ]);
    });

    it('faces sent to an MT-Photos server', () => {
      expect(problemsOf({ GATEWAY_ROUTE_FACIAL_RECOGNITION_PROTOCOL: 'mt-photos', MT_PHOTOS_API_KEY: 'k' })).toEqual([
        'GATEWAY_ROUTE_FACIAL_RECOGNITION_PROTOCOL: route "facial-recognition" speaks mt-photos, which only does clip and ocr, not facial-recognition',
      ]);
    });

    it('a bad GATEWAY_ROUTE_ value', () => {
      expect(problemsOf({ GATEWAY_ROUTE_CLIP: 'ftp://x' })).toEqual([
        'GATEWAY_ROUTE_CLIP="ftp://x": expected an http(s) URL without query or fragment',
      ]);
    });

    it('a bad key in the file, with its path', () => {
      const path = file(
        'bad.json',
        JSON.stringify({ routes: { gpu: { upstreams: ['not a url'] } }, tasks: { clip: 'gpu' } }),
      );
      expect(problemsOf({ GATEWAY_CONFIG: path })).toEqual([
        `routes.gpu.upstreams[0] (${path}): expected an http(s) URL without query or fragment`,
      ]);
    });

    it('an unknown key in the file', () => {
      const path = file('typo.yaml', 'routs: {}\n');
      expect(problemsOf({ GATEWAY_CONFIG: path })[0]).toMatch(
        /^\(top level\) \(.*typo\.yaml\): Unrecognized key\(s\) in object: 'routs'/,
      );
    });

    it('a task naming a route that does not exist', () => {
      const path = file('missing.json', JSON.stringify({ tasks: { ocr: 'nowhere' } }));
      expect(problemsOf({ GATEWAY_CONFIG: path })).toEqual([`tasks.ocr (${path}): no route named "nowhere"`]);
    });

    it('a file that cannot be read', () => {
      expect(problemsOf({ GATEWAY_CONFIG: '/nonexistent/gateway.yaml' })[0]).toMatch(
        /^GATEWAY_CONFIG="\/nonexistent\/gateway.yaml": cannot read it: ENOENT/,
      );
    });
  });
});
