import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import dockerignore from '@balena/dockerignore';
import { loadExtensionConfig } from '../../src/config/extension.config';
import { gatewayConfig, loadGatewayConfig } from '../../src/config/gateway.config';
import { loadInferenceConfig } from '../../src/config/inference.config';
import { emptyDir, startApp, testClipRoot } from '../inference/helpers';
import { flushRedis, startSidecar } from '../extension/support/sidecar';
import { startGateway } from '../gateway/support/servers';
import { createTestDatabase } from '../support/immich-database';
import {
  cliCommand,
  contextFiles,
  DOCKER_DIR,
  dockerfileStages,
  INSTALLS,
  installModel,
  instructionArgs,
  interpolate,
  lastInstruction,
  normalized,
  readText,
  ROOT,
  stageChain,
} from './support/docker-files';

/**
 * Our Dockerfiles read statically: what they copy is in the build context after .dockerignore, what
 * they run is in our CLI, the final stages do not run as root, and each healthcheck asks the real
 * readiness route of the process on the port it listens on (checked against the running apps).
 */

const DOCKERFILES = readdirSync(DOCKER_DIR).filter((f) => /Dockerfile/.test(f));

/** Every (Dockerfile, target) a compose file builds, with its build context. */
const builds = () => {
  const seen = new Map<string, { dockerfile: string; target?: string; context: string }>();
  for (const install of ['sidecar', 'patched'] as const) {
    const layers = install === 'patched' ? [join(DOCKER_DIR, 'database-zhparser.yml')] : [];
    for (const service of Object.values(installModel(install, ...layers).services)) {
      if (!service.build?.dockerfile) continue;
      const context = INSTALLS[install].hostPath(interpolate(service.build.context, {}));
      const dockerfile = join(context, service.build.dockerfile);
      seen.set(`${dockerfile}#${service.build.target}`, { dockerfile, target: service.build.target, context });
    }
  }
  // The CUDA target comes from hwaccel.cuda.yml, which names no Dockerfile of its own.
  seen.set('cuda', { dockerfile: join(DOCKER_DIR, 'Dockerfile'), target: 'inference-cuda', context: ROOT });
  return [...seen.values()];
};

/**
 * Final stages that keep the base image's user on purpose. Immich's server image runs as root like
 * Immich's own (files already in a library are root's); Postgres's entrypoint starts as root to own
 * its data folder, then runs the server as `postgres` itself.
 */
const ROOT_ALLOWED: Record<string, string> = {
  'immich-server.Dockerfile': "Immich's own server image",
  'postgres.Dockerfile': "Postgres's entrypoint drops to the postgres user",
};

/** Our images' targets: the process each runs, the variable naming its port, and its parser. */
const TARGETS: Record<string, { command: string; portVariable: string; port: (env: NodeJS.ProcessEnv) => number }> = {
  inference: { command: 'serve inference', portVariable: 'HTTP_PORT', port: (e) => loadInferenceConfig(e).port },
  'inference-cuda': {
    command: 'serve inference',
    portVariable: 'HTTP_PORT',
    port: (e) => loadInferenceConfig(e).port,
  },
  gateway: { command: 'serve gateway', portVariable: 'PORT', port: (e) => loadGatewayConfig(e).port },
  extension: { command: 'serve extension', portVariable: 'PORT', port: (e) => loadExtensionConfig(e).port },
};

const HEALTHCHECK = /^node dist\/healthcheck\.js "http:\/\/127\.0\.0\.1:\$\{(\w+):-(\d+)\}(\/[\w/]*)"$/;

function healthcheckOf(target: string) {
  const chain = stageChain(dockerfileStages(join(DOCKER_DIR, 'Dockerfile')), target);
  const instruction = lastInstruction(chain, 'HEALTHCHECK');
  const args = instruction ? instructionArgs(instruction) : [];
  const command = args.slice(args.indexOf('CMD') + 1).join(' ');
  const match = HEALTHCHECK.exec(command);
  if (!match) throw new Error(`${target}: healthcheck "${command}" is not node dist/healthcheck.js on 127.0.0.1`);
  return { variable: match[1], port: Number(match[2]), path: match[3] };
}

describe('Dockerfiles', () => {
  it('every Dockerfile in docker/ is built by a compose file, in several stages', () => {
    const built = new Set(builds().map((b) => b.dockerfile));
    for (const file of DOCKERFILES) {
      expect([file, built.has(join(DOCKER_DIR, file))]).toEqual([file, true]);
      expect([file, dockerfileStages(join(DOCKER_DIR, file)).length > 1]).toEqual([file, true]);
    }
  });

  it.each(DOCKERFILES)('%s: every COPY source is in the build context after .dockerignore', (file) => {
    const files = contextFiles(ROOT);
    const copies = dockerfileStages(join(DOCKER_DIR, file))
      .flatMap((stage) => stage.instructions)
      .filter((i) => ['COPY', 'ADD'].includes(i.getKeyword()) && !/--from=/.test(normalized(i)));
    expect(copies.length).toBeGreaterThan(0);
    for (const copy of copies) {
      for (const source of copy
        .getArguments()
        .slice(0, -1)
        .map((a) => a.getValue().replace(/^\.\//, ''))) {
        const present = files.some((f) => f === source || f.startsWith(`${source.replace(/\/$/, '')}/`));
        expect([normalized(copy), source, present]).toEqual([normalized(copy), source, true]);
      }
    }
  });

  it('.dockerignore keeps out secrets, dependencies, build output and history', () => {
    const ignore = dockerignore().add(readText(join(ROOT, '.dockerignore')));
    for (const path of ['.env', 'docker/.env', '.git/config', 'node_modules/zod/package.json', 'dist/cli.js']) {
      expect([path, ignore.ignores(path)]).toEqual([path, true]);
    }
    expect(contextFiles(ROOT).filter((f) => /(^|\/)\.env$|\.pem$|\.key$/.test(f))).toEqual([]);
  });

  it('no build argument or image variable carries a secret', () => {
    for (const file of DOCKERFILES) {
      for (const stage of dockerfileStages(join(DOCKER_DIR, file))) {
        for (const instruction of stage.instructions.filter((i) => ['ARG', 'ENV'].includes(i.getKeyword()))) {
          expect([file, normalized(instruction)]).not.toEqual([
            file,
            expect.stringMatching(/KEY|PASSWORD|SECRET|TOKEN/),
          ]);
        }
      }
    }
  });

  it.each(builds().map((b) => [`${b.dockerfile.split('/').pop()} ${b.target ?? '(last stage)'}`, b]))(
    '%s runs as a user other than root',
    (_, build) => {
      const file = build.dockerfile.split('/').pop()!;
      const user = lastInstruction(stageChain(dockerfileStages(build.dockerfile), build.target), 'USER');
      if (ROOT_ALLOWED[file]) {
        // Allowed to keep its base image's user, but not to set root itself.
        expect(user).toBeUndefined();
        return;
      }
      expect(user && instructionArgs(user)[0]).toMatch(/^(?!root$|0$|0:)\S+$/);
    },
  );

  it('every immich-ai command an image runs is one our CLI has', () => {
    let checked = 0;
    for (const file of DOCKERFILES) {
      for (const stage of dockerfileStages(join(DOCKER_DIR, file))) {
        for (const instruction of stage.instructions) {
          for (const match of normalized(instruction).matchAll(/node dist\/cli\.js ([\w -]+)/g)) {
            expect([file, match[1], cliCommand(match[1].trim().split(' '))]).not.toEqual([file, match[1], undefined]);
            checked++;
          }
        }
      }
    }
    for (const target of Object.keys(TARGETS)) {
      const chain = stageChain(dockerfileStages(join(DOCKER_DIR, 'Dockerfile')), target);
      const entrypoint = instructionArgs(lastInstruction(chain, 'ENTRYPOINT')!);
      expect(entrypoint).toEqual(['node', 'dist/cli.js']);
      expect(cliCommand(instructionArgs(lastInstruction(chain, 'CMD')!))).toBe(TARGETS[target].command);
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(5);
    // What ENTRYPOINT and HEALTHCHECK start is what `npm run build` makes.
    expect(existsSync(join(ROOT, 'dist', 'cli.js'))).toBe(true);
    expect(existsSync(join(ROOT, 'dist', 'healthcheck.js'))).toBe(true);
  });

  it.each(Object.keys(TARGETS))('%s: EXPOSE and the healthcheck use the port the process listens on', (target) => {
    const { command, portVariable, port } = TARGETS[target];
    const check = healthcheckOf(target);
    expect(check.variable).toBe(portVariable);
    expect(check.port).toBe(port({}));
    // The variable really moves the port: the healthcheck follows a changed one.
    expect(port({ [portVariable]: '4321' })).toBe(4321);
    const chain = stageChain(dockerfileStages(join(DOCKER_DIR, 'Dockerfile')), target);
    expect([command, instructionArgs(lastInstruction(chain, 'EXPOSE')!)]).toEqual([command, [String(port({}))]]);
  });
});

describe('base images and installs', () => {
  /** Every stage's base that is an image, not an earlier stage of the same file. */
  const bases = () =>
    DOCKERFILES.flatMap((file) => {
      const stages = dockerfileStages(join(DOCKER_DIR, file));
      return stages.filter((s) => !stages.some((other) => other.name === s.from)).map((s) => [file, s.from] as const);
    });

  it('every base image is pinned by digest, so a rebuild gets the same one until this repository moves it', () => {
    expect(bases().length).toBeGreaterThanOrEqual(5);
    for (const [file, from] of bases())
      expect([file, from]).toEqual([file, expect.stringMatching(/@sha256:[0-9a-f]{64}$/)]);
  });

  it("our Node images are Node 24, Immich's own (Node 20 is end of life)", () => {
    const node = bases().filter(([, from]) => from.startsWith('node:'));
    expect(node.length).toBeGreaterThanOrEqual(2);
    for (const [file, from] of node) expect([file, from]).toEqual([file, expect.stringMatching(/^node:24[.\w-]*@/)]);
  });

  it("npm ci runs with @scarf/scarf's install telemetry off, in the images and on a developer's machine", () => {
    // scarf reads the root package's setting (and SCARF_ANALYTICS) when its postinstall runs.
    expect((JSON.parse(readText(join(ROOT, 'package.json'))) as { scarfSettings?: object }).scarfSettings).toEqual({
      enabled: false,
    });
    expect(readText(join(ROOT, 'package-lock.json'))).toContain('node_modules/@scarf/scarf');
    let installs = 0;
    for (const file of DOCKERFILES) {
      const stages = dockerfileStages(join(DOCKER_DIR, file));
      for (const stage of stages) {
        const chain = stageChain(stages, stage.name).flatMap((s) => s.instructions);
        chain.forEach((instruction, at) => {
          if (!/^RUN .*\bnpm ci\b/.test(normalized(instruction))) return;
          const before = chain.slice(0, at).map(normalized);
          expect([file, stage.name, before]).toEqual([
            file,
            stage.name,
            expect.arrayContaining(['ENV SCARF_ANALYTICS=false']),
          ]);
          installs++;
        });
      }
    }
    expect(installs).toBeGreaterThanOrEqual(2);
  });
});

describe('healthcheck routes, against the running processes', () => {
  const run = promisify(execFile);
  const healthcheck = (url: string) =>
    run('node', [join(ROOT, 'dist', 'healthcheck.js'), url]).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
    );

  it('inference: the healthcheck passes when the models are in place and fails, naming the file, when not', async () => {
    const clip = await testClipRoot();
    const empty = await emptyDir();
    const ready = await startApp({ clip: { root: clip.root, modelName: 'ViT-B-16' }, ocrWorkers: 0 });
    const missing = await startApp({ clip: { root: empty.dir, modelName: 'ViT-B-16' }, ocrWorkers: 0 });
    try {
      const { path } = healthcheckOf('inference');
      expect(await healthcheck(`${ready.url}${path}`)).toEqual({ code: 0, stderr: '' });
      const failed = await healthcheck(`${missing.url}${path}`);
      expect(failed.code).toBe(1);
      expect(failed.stderr).toMatch(/503 .*\.onnx/);
    } finally {
      await Promise.all([ready.close(), missing.close(), clip.remove(), empty.remove()]);
    }
  });

  it('gateway: the healthcheck passes on the running gateway', async () => {
    const gateway = await startGateway(gatewayConfig({ port: 0, health: { intervalMs: 0, timeoutMs: 1000 } }));
    try {
      expect(await healthcheck(`${gateway.url}${healthcheckOf('gateway').path}`)).toEqual({ code: 0, stderr: '' });
      expect((await healthcheck(`${gateway.url}/no-such-route`)).code).toBe(1);
    } finally {
      await gateway.close();
    }
  });

  it('extension: the healthcheck passes when Postgres and Redis answer', async () => {
    const database = await createTestDatabase('docker-health');
    await flushRedis();
    const sidecar = await startSidecar(database, { JOB_WORKER: 'false' });
    try {
      expect(await healthcheck(`${sidecar.url}${healthcheckOf('extension').path}`)).toEqual({ code: 0, stderr: '' });
    } finally {
      await sidecar.close();
      await database.drop();
    }
  });
});
