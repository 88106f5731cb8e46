import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Ajv from 'ajv';
import draft07 from 'ajv/dist/refs/json-schema-draft-07.json';
import { EXTENSION_ENV_VARIABLES, loadExtensionConfig } from '../../src/config/extension.config';
import { GATEWAY_ENV_VARIABLES, loadGatewayConfig, ROUTE_VARIABLE } from '../../src/config/gateway.config';
import { INFERENCE_ENV_VARIABLES, loadInferenceConfig } from '../../src/config/inference.config';
import { IMMICH_ENV_VARIABLES } from '../../src/doctor/immich-settings';
import {
  cliCommand,
  COMPOSE_FILES,
  type ComposeService,
  DOCKER_DIR,
  dockerfileStages,
  envExample,
  immichEnvVariables,
  instructionArgs,
  interpolatedVariables,
  lastInstruction,
  loadCompose,
  mergeCompose,
  PROJECT_FILES,
  readText,
  ROOT,
  serviceEnvironment,
  stageChain,
} from './support/docker-files';

/**
 * The compose files, read as Compose reads them and checked against the code they run: the Compose
 * Specification's schema, paths, the variables each service reads, ports and the URLs between services.
 */

const schema = JSON.parse(readText(join(__dirname, 'compose-spec', 'compose-spec.json'))) as object;
const ajv = new Ajv({ allErrors: true, strict: false });
// The schema names draft-07 by its https address; Ajv knows draft-07 under its http one.
ajv.addMetaSchema({ ...draft07, $id: 'https://json-schema.org/draft-07/schema' });
const validate = ajv.compile(schema);

/** .env.example's values (set, or the default a commented line shows), as `docker compose` would see them once filled in. */
const exampleEnv = (): Record<string, string> => {
  const env: Record<string, string> = {};
  for (const [name, { value }] of envExample()) env[name] = value || `example-${name.toLowerCase()}`;
  return env;
};

/** Our own services: built from docker/Dockerfile. */
const ourServices = (file: string) =>
  Object.entries(loadCompose(file).services).filter(([, s]) => s.build?.dockerfile === 'docker/Dockerfile');

/** What `immich-ai ...` a service of ours runs: its compose command, else its image target's CMD. */
function commandOf(file: string, service: ComposeService): string | undefined {
  const stages = dockerfileStages(join(DOCKER_DIR, service.build!.context, service.build!.dockerfile!));
  const cmd = lastInstruction(stageChain(stages, service.build!.target), 'CMD');
  return cliCommand(service.command ?? (cmd ? instructionArgs(cmd) : []));
}

/** The variables each command reads, from the config parsers (the zod schemas). */
const VARIABLES_BY_COMMAND: Record<string, (name: string) => boolean> = {
  'serve inference': (name) => INFERENCE_ENV_VARIABLES.includes(name),
  'serve gateway': (name) => GATEWAY_ENV_VARIABLES.includes(name) || ROUTE_VARIABLE.test(name),
  'serve extension': (name) => EXTENSION_ENV_VARIABLES.includes(name),
  doctor: (name) => EXTENSION_ENV_VARIABLES.includes(name) || IMMICH_ENV_VARIABLES.includes(name),
};

/** Each command's parser, which must accept the service's environment as written. */
const PARSER_BY_COMMAND: Record<string, (env: NodeJS.ProcessEnv) => { port?: number }> = {
  'serve inference': loadInferenceConfig,
  'serve gateway': loadGatewayConfig,
  'serve extension': loadExtensionConfig,
  doctor: loadExtensionConfig,
};

describe('compose files', () => {
  it.each(COMPOSE_FILES)('%s follows the Compose Specification', (file) => {
    const valid = validate(loadCompose(file));
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('the schema check catches a mistake (a misspelt key)', () => {
    const broken = loadCompose('docker-compose.sidecar.yml');
    (broken.services['immich-ai-gateway'] as Record<string, unknown>).enviroment = {};
    expect(validate(broken)).toBe(false);
  });

  it.each(COMPOSE_FILES)('%s: every build context, Dockerfile and target exists', (file) => {
    const services = Object.entries(loadCompose(file).services).filter(([, s]) => s.build);
    expect(services.length).toBeGreaterThan(0);
    for (const [name, service] of services) {
      // The hwaccel file only adds a target to a build the project file defines.
      const build = { ...mergeCompose(PROJECT_FILES[0], file).services[name]?.build, ...service.build };
      expect([name, typeof build.context]).toEqual([name, 'string']);
      const context = resolve(DOCKER_DIR, build.context!);
      expect([name, existsSync(context)]).toEqual([name, true]);
      const dockerfile = join(context, build.dockerfile ?? 'Dockerfile');
      expect([name, existsSync(dockerfile)]).toEqual([name, true]);
      const stages = dockerfileStages(dockerfile).map((s) => s.name);
      if (build.target) expect(stages).toContain(build.target);
    }
  });

  it.each(COMPOSE_FILES)('%s: every variable it interpolates is in .env.example, with the same default', (file) => {
    const example = envExample();
    for (const [name, fallback] of interpolatedVariables(readText(join(DOCKER_DIR, file)))) {
      expect([name, example.has(name)]).toEqual([name, true]);
      if (fallback !== undefined) expect([name, example.get(name)!.value]).toEqual([name, fallback]);
    }
  });

  it(".env.example names only variables a compose file, Immich's server or our extension reads", () => {
    const interpolated = new Set(
      COMPOSE_FILES.flatMap((f) => [...interpolatedVariables(readText(join(DOCKER_DIR, f))).keys()]),
    );
    const immich = immichEnvVariables();
    // Immich's compose file passes these to its Postgres and hands TZ to every container.
    const immichCompose = [
      'UPLOAD_LOCATION',
      'DB_DATA_LOCATION',
      'DB_PASSWORD',
      'DB_USERNAME',
      'DB_DATABASE_NAME',
      'TZ',
    ];
    for (const name of envExample().keys()) {
      const known =
        interpolated.has(name) ||
        immich.has(name) ||
        immichCompose.includes(name) ||
        EXTENSION_ENV_VARIABLES.includes(name);
      expect([name, known]).toEqual([name, true]);
    }
  });

  it(".env.example's commented defaults of the extension's variables are the parser's defaults", () => {
    const defaults = loadExtensionConfig({});
    const shown = [...envExample()].filter(([name, v]) => v.commented && EXTENSION_ENV_VARIABLES.includes(name));
    expect(shown.length).toBeGreaterThan(5);
    for (const [name, { value }] of shown) {
      expect([name, loadExtensionConfig({ [name]: value })]).toEqual([name, defaults]);
    }
  });

  it.each(PROJECT_FILES)('%s: each of our services runs an immich-ai command', (file) => {
    for (const [name, service] of ourServices(file)) {
      const command = commandOf(file, service);
      expect([name, command !== undefined && command in VARIABLES_BY_COMMAND]).toEqual([name, true]);
    }
  });

  it.each(PROJECT_FILES)('%s: every variable our services get is one their config parser knows, and parses', (file) => {
    const env = exampleEnv();
    for (const [name, service] of ourServices(file)) {
      const command = commandOf(file, service)!;
      for (const variable of Object.keys(service.environment ?? {})) {
        expect([name, variable, VARIABLES_BY_COMMAND[command](variable)]).toEqual([name, variable, true]);
      }
      expect(() => PARSER_BY_COMMAND[command](serviceEnvironment(service, env))).not.toThrow();
    }
  });

  it("docker-compose.patched.yml: Immich's server gets only variables Immich or our modules inside it read", () => {
    const immich = immichEnvVariables();
    const server = loadCompose('docker-compose.patched.yml').services['immich-server'];
    for (const variable of Object.keys(server.environment ?? {})) {
      const known = immich.has(variable) || EXTENSION_ENV_VARIABLES.includes(variable);
      expect([variable, known]).toEqual([variable, true]);
    }
  });

  it.each(PROJECT_FILES)('%s: a published port is the port the service listens on', (file) => {
    const env = exampleEnv();
    for (const [name, service] of ourServices(file)) {
      const parse = PARSER_BY_COMMAND[commandOf(file, service)!];
      const listens = parse(serviceEnvironment(service, env)).port;
      for (const mapping of service.ports ?? []) {
        const containerPort = Number(String(mapping).split(':').pop());
        expect([name, containerPort]).toEqual([name, listens]);
      }
    }
  });

  it.each(PROJECT_FILES)('%s: every URL between services names a service and the port it listens on', (file) => {
    const env = exampleEnv();
    const services = loadCompose(file).services;
    // Immich's own services, which the sidecar reaches on Immich's network (Immich's compose file).
    const immichPorts: Record<string, number> = { 'immich-machine-learning': 3003, 'immich-server': 2283 };
    let checked = 0;
    for (const [name, service] of Object.entries(services)) {
      for (const [variable, value] of Object.entries(serviceEnvironment(service, env))) {
        for (const match of value.matchAll(/https?:\/\/([\w-]+):(\d+)/g)) {
          const [, host, port] = match;
          const target = services[host];
          const expected =
            target?.build?.dockerfile === 'docker/Dockerfile'
              ? PARSER_BY_COMMAND[commandOf(file, target)!](serviceEnvironment(target, env)).port
              : immichPorts[host];
          expect([name, variable, host, Number(port)]).toEqual([name, variable, host, expected]);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThanOrEqual(3);
  });

  it('the CUDA override turns the inference service into the CUDA image on an NVIDIA device', () => {
    for (const file of PROJECT_FILES) {
      const inference = mergeCompose(file, 'hwaccel.cuda.yml').services['immich-ai-inference'];
      expect(inference.build).toMatchObject({ dockerfile: 'docker/Dockerfile', target: 'inference-cuda' });
      expect(loadInferenceConfig(serviceEnvironment(inference, exampleEnv())).device).toBe('cuda');
      expect(JSON.stringify(inference.deploy)).toContain('"driver":"nvidia"');
    }
  });

  it('cn-clip weights live in a named volume, so they outlive the containers', () => {
    for (const file of PROJECT_FILES) {
      const compose = loadCompose(file);
      const inference = compose.services['immich-ai-inference'] as { volumes: string[] };
      const env = serviceEnvironment(compose.services['immich-ai-inference'], exampleEnv());
      const [volume, target] = inference.volumes[0].split(':');
      expect(Object.keys(compose.volumes as object)).toContain(volume);
      expect(loadInferenceConfig(env).clip.root.startsWith(`${target}/`)).toBe(true);
    }
  });
});

describe('README and the compose files', () => {
  const readme = readText(join(ROOT, 'README.md'));
  const services = new Set(PROJECT_FILES.flatMap((f) => Object.keys(loadCompose(f).services)));
  const volumes = new Set(PROJECT_FILES.flatMap((f) => Object.keys(loadCompose(f).volumes ?? {})));

  it('every immich-ai service (or volume) the README names exists in a compose file', () => {
    const named = new Set([...readme.matchAll(/\bimmich-ai-[a-z]+(?:-[a-z]+)*\b/g)].map((m) => m[0]));
    expect(named.size).toBeGreaterThanOrEqual(3);
    for (const name of named) expect([name, services.has(name) || volumes.has(name)]).toEqual([name, true]);
  });

  it('every `docker compose` command in the README names files and services that exist', () => {
    const commands = [
      ...readme.matchAll(/docker compose ((?:-f \S+ )+)(run --rm|exec|logs|up|build|pull|down|stop|restart)([^\n`]*)/g),
    ];
    expect(commands.length).toBeGreaterThanOrEqual(6);
    for (const [line, files, verb, rest] of commands) {
      const names = [...files.matchAll(/-f (\S+)/g)].map((m) => m[1]);
      for (const name of names) expect([line, COMPOSE_FILES.includes(name)]).toEqual([line, true]);
      const project = mergeCompose(...names).services;
      const words = rest
        .trim()
        .split(/\s+/)
        .filter((w) => w && !w.startsWith('-'));
      // run/exec take one service then its command; the others take services only.
      const named = verb === 'run --rm' || verb === 'exec' ? words.slice(0, 1) : words;
      for (const service of named) expect([line, service in project]).toEqual([line, true]);
      if (verb === 'run --rm' && words.length > 1) {
        expect([line, cliCommand(words.slice(1)) !== undefined]).toEqual([line, true]);
      }
    }
  });

  it.each([
    ['inference', INFERENCE_ENV_VARIABLES],
    ['gateway', GATEWAY_ENV_VARIABLES],
    ['extension', EXTENSION_ENV_VARIABLES],
  ])("the README's tables document every variable of the %s", (_, variables) => {
    // CONCURRENCY is read only to refuse it with a message naming its replacement.
    for (const name of variables.filter((v) => v !== 'CONCURRENCY')) {
      expect([name, readme.includes(`\`${name}\``)]).toEqual([name, true]);
    }
  });
});
