import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import draft07 from 'ajv/dist/refs/json-schema-draft-07.json';
import { load as loadYaml } from 'js-yaml';
import { EXTENSION_ENV_VARIABLES, loadExtensionConfig } from '../../src/config/extension.config';
import { GATEWAY_ENV_VARIABLES, loadGatewayConfig, ROUTE_VARIABLE } from '../../src/config/gateway.config';
import { INFERENCE_ENV_VARIABLES, loadInferenceConfig } from '../../src/config/inference.config';
import { IMMICH_ENV_VARIABLES } from '../../src/doctor/immich-settings';
import { supportedVersions } from '../../src/patching/immich-patcher';
import {
  cliCommand,
  COMPOSE_FILES,
  type ComposeFile,
  type ComposeService,
  DOCKER_DIR,
  dockerfileStages,
  envExample,
  immichEnvVariables,
  type InstallName,
  INSTALLS,
  installModel,
  installOf,
  instructionArgs,
  interpolate,
  interpolatedVariables,
  lastInstruction,
  loadCompose,
  mergeCompose,
  parsePort,
  readText,
  ROOT,
  serviceEnvironment,
  stageChain,
  volumeTarget,
} from './support/docker-files';

/**
 * The compose files, read as Compose reads them and checked against the code they run: the Compose
 * Specification's schema and merge rules, paths, the variables each container gets, ports, mounts and
 * the URLs between services. The patched install is checked merged over a self-hoster's own Immich
 * compose file (test/docker/fixtures/immich-app/), as Compose runs it.
 */

const schema = JSON.parse(readText(join(__dirname, 'compose-spec', 'compose-spec.json'))) as object;
const ajv = new Ajv({ allErrors: true, strict: false });
// The schema names draft-07 by its https address; Ajv knows draft-07 under its http one.
ajv.addMetaSchema({ ...draft07, $id: 'https://json-schema.org/draft-07/schema' });
const validate = ajv.compile(schema);

const INSTALL_NAMES: InstallName[] = ['sidecar', 'patched'];

/** Immich's own .env, as Immich's example file fills it: what the user's compose file interpolates. */
const IMMICH_ENV: Record<string, string> = {
  UPLOAD_LOCATION: './library',
  DB_DATA_LOCATION: './postgres',
  DB_PASSWORD: 'postgres',
  DB_USERNAME: 'postgres',
  DB_DATABASE_NAME: 'immich',
};

/** An install's example file as `docker compose` sees it once filled in (a commented line: its default). */
const exampleEnv = (install: InstallName): Record<string, string> => {
  const env: Record<string, string> = install === 'patched' ? { ...IMMICH_ENV } : {};
  for (const [name, { value, commented }] of envExample(INSTALLS[install].example)) {
    if (!commented || value) env[name] = value || `example-${name.toLowerCase()}`;
  }
  return env;
};

/** Our own services: built from docker/Dockerfile. */
const ourServices = (model: ComposeFile) =>
  Object.entries(model.services).filter(([, s]) => s.build?.dockerfile === 'docker/Dockerfile');

/** The Dockerfile a service is built from, on the host. */
const dockerfileOf = (install: InstallName, service: ComposeService) =>
  join(
    INSTALLS[install].hostPath(interpolate(service.build!.context, exampleEnv(install))),
    service.build!.dockerfile!,
  );

/** What `immich-ai ...` a service of ours runs: its compose command, else its image target's CMD. */
function commandOf(install: InstallName, service: ComposeService): string | undefined {
  const cmd = lastInstruction(
    stageChain(dockerfileStages(dockerfileOf(install, service)), service.build!.target),
    'CMD',
  );
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

/** Immich's services and the ports they listen on (Immich's compose file). */
const IMMICH_PORTS: Record<string, number> = { 'immich-machine-learning': 3003, 'immich-server': 2283 };

describe('compose files', () => {
  it.each(COMPOSE_FILES)('%s follows the Compose Specification', (file) => {
    const valid = validate(loadCompose(file));
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it.each(INSTALL_NAMES)('the %s install, merged with the CUDA layer, follows the Compose Specification', (install) => {
    const valid = validate(installModel(install, join(DOCKER_DIR, 'hwaccel.cuda.yml')));
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('the schema check catches a mistake (a misspelt key)', () => {
    const broken = loadCompose('docker-compose.sidecar.yml');
    (broken.services['immich-ai-gateway'] as Record<string, unknown>).enviroment = {};
    expect(validate(broken)).toBe(false);
  });

  it.each(INSTALL_NAMES)('%s: every build context, Dockerfile and target exists', (install) => {
    const model = installModel(install, join(DOCKER_DIR, 'hwaccel.cuda.yml'));
    const built = Object.entries(model.services).filter(([, s]) => s.build);
    expect(built.length).toBeGreaterThanOrEqual(3);
    for (const [name, service] of built) {
      const dockerfile = dockerfileOf(install, service);
      expect([name, existsSync(dockerfile)]).toEqual([name, true]);
      const stages = dockerfileStages(dockerfile).map((s) => s.name);
      if (service.build!.target) expect(stages).toContain(service.build!.target);
    }
  });

  it.each(COMPOSE_FILES.filter(installOf))(
    '%s: every variable it interpolates is in its example file, with the same default',
    (file) => {
      const example = envExample(INSTALLS[installOf(file)!].example);
      // The variables of Immich's own .env, which the patched install reads from there.
      const immichOwn = Object.keys(IMMICH_ENV);
      for (const [name, fallback] of interpolatedVariables(readText(join(DOCKER_DIR, file)))) {
        expect([name, example.has(name) || immichOwn.includes(name)]).toEqual([name, true]);
        if (fallback !== undefined) expect([name, example.get(name)!.value]).toEqual([name, fallback]);
      }
    },
  );

  it('the example files name only variables a compose file, Compose itself, Immich or our modules read', () => {
    const interpolated = new Set(
      COMPOSE_FILES.flatMap((f) => [...interpolatedVariables(readText(join(DOCKER_DIR, f))).keys()]),
    );
    const immich = immichEnvVariables();
    for (const install of INSTALL_NAMES) {
      for (const name of envExample(INSTALLS[install].example).keys()) {
        const known =
          interpolated.has(name) ||
          name === 'COMPOSE_FILE' ||
          // In Immich's .env, read by Immich's server and by our modules inside it.
          (install === 'patched' &&
            (immich.has(name) ||
              (name.startsWith('IMMICH_AI_') && EXTENSION_ENV_VARIABLES.includes(name.slice('IMMICH_AI_'.length)))));
        expect([install, name, known]).toEqual([install, name, true]);
      }
    }
  });

  it("immich.env.example's commented settings of our modules are IMMICH_AI_ names with the parser's defaults", () => {
    const defaults = loadExtensionConfig({});
    const ours = [...envExample('immich.env.example')].filter(
      ([name, v]) => v.commented && name.startsWith('IMMICH_AI_'),
    );
    const shown = ours.filter(([name]) => EXTENSION_ENV_VARIABLES.includes(name.slice('IMMICH_AI_'.length)));
    expect(shown.length).toBeGreaterThan(5);
    for (const [name, { value }] of shown) {
      expect([name, loadExtensionConfig({ [name]: value })]).toEqual([name, defaults]);
    }
    // Inside Immich a plain name would not be read: none is suggested.
    const plain = [...envExample('immich.env.example')].filter(([name]) => EXTENSION_ENV_VARIABLES.includes(name));
    expect(plain.map(([name]) => name).filter((name) => !/^(IMMICH_MEDIA_LOCATION)$/.test(name))).toEqual([]);
  });

  it.each(INSTALL_NAMES)(
    "%s: COMPOSE_FILE in the example names the install's files, from the folder it runs in",
    (install) => {
      const files = envExample(INSTALLS[install].example).get('COMPOSE_FILE')!.value.split(':');
      const expected = [...INSTALLS[install].files, join(DOCKER_DIR, 'hwaccel.cuda.yml')];
      expect(files.map(INSTALLS[install].hostPath)).toEqual(expected.slice(0, files.length));
      expect(files.length).toBeGreaterThanOrEqual(INSTALLS[install].files.length);
      // The CUDA layer: the line the README of each install gives for a GPU.
      const cuda = readText(join(DOCKER_DIR, 'hwaccel.cuda.yml'));
      const line = new RegExp(`^#\\s+${install}, in [^:]+:\\s+COMPOSE_FILE=(\\S+)$`, 'm').exec(cuda)![1].split(':');
      expect(line.map(INSTALLS[install].hostPath)).toEqual(expected);
    },
  );

  it.each(INSTALL_NAMES)('%s: each of our services runs an immich-ai command', (install) => {
    for (const [name, service] of ourServices(installModel(install))) {
      const command = commandOf(install, service);
      expect([name, command !== undefined && command in VARIABLES_BY_COMMAND]).toEqual([name, true]);
    }
  });

  it.each(INSTALL_NAMES)(
    '%s: each of our containers gets only variables its command reads, and they parse',
    (install) => {
      const env = exampleEnv(install);
      for (const [name, service] of ourServices(installModel(install))) {
        const command = commandOf(install, service)!;
        for (const variable of Object.keys(service.environment ?? {})) {
          expect([name, variable, VARIABLES_BY_COMMAND[command](variable)]).toEqual([name, variable, true]);
        }
        expect(() => PARSER_BY_COMMAND[command](serviceEnvironment(service, env))).not.toThrow();
      }
    },
  );

  it.each(INSTALL_NAMES)(
    "%s: our settings file goes to no container; Immich's .env only to those that need its database",
    (install) => {
      for (const [name, service] of ourServices(installModel(install))) {
        const files = (service.env_file ?? []).map((f) => (typeof f === 'string' ? f : f.path));
        const needsDatabase = ['serve extension', 'doctor'].includes(commandOf(install, service)!);
        // The sidecar names Immich's .env by its variable; the patched install runs in Immich's folder.
        const immichEnv = install === 'sidecar' ? ['${IMMICH_ENV_FILE:?'] : ['.env'];
        for (const file of files) {
          expect([name, file, needsDatabase && immichEnv.some((f) => file.startsWith(f))]).toEqual([name, file, true]);
        }
      }
    },
  );

  it("patched: Immich's containers get nothing of ours but the ML URL, and no variable of ours reaches them", () => {
    const user = loadCompose(INSTALLS.patched.files[0]);
    const merged = installModel('patched');
    const overlay = readText(join(DOCKER_DIR, 'immich-ai.yml'));
    const ours = [...interpolatedVariables(overlay).keys()].filter((n) => !(n in IMMICH_ENV) && n !== 'IMMICH_VERSION');
    expect(ours.length).toBeGreaterThan(0);
    for (const [name, service] of Object.entries(user.services)) {
      const added = Object.keys(merged.services[name].environment ?? {}).filter(
        (v) => !(v in (service.environment ?? {})),
      );
      expect([name, added]).toEqual([name, name === 'immich-server' ? ['IMMICH_MACHINE_LEARNING_URL'] : []]);
      expect([name, merged.services[name].env_file]).toEqual([name, service.env_file]);
      for (const value of Object.values(merged.services[name].environment ?? {})) {
        for (const variable of ours) expect(String(value)).not.toContain(variable);
      }
    }
    // And no key: the gateway and the inference service are not given one.
    expect(overlay).not.toMatch(/API_KEY|API_AUTH_KEY/);
  });

  it('the immich-ai server gets the ML URL of our gateway, whatever the user’s .env says', () => {
    const server = installModel('patched').services['immich-server'];
    expect(server.environment?.IMMICH_MACHINE_LEARNING_URL).toBe('http://immich-ai-gateway:8080');
    expect(IMMICH_ENV_VARIABLES).toContain('IMMICH_MACHINE_LEARNING_URL');
  });

  it("no compose file of ours uses a variable of Immich's server for something else (IMMICH_PORT moved Immich's own port)", () => {
    const immich = immichEnvVariables();
    expect(immich.has('IMMICH_PORT')).toBe(true);
    // Read with Immich's meaning and handed on under Immich's name: the release, the media folder.
    const sameMeaning = ['IMMICH_VERSION', 'IMMICH_MEDIA_LOCATION'];
    for (const file of COMPOSE_FILES) {
      for (const name of interpolatedVariables(readText(join(DOCKER_DIR, file))).keys()) {
        expect([file, name, !immich.has(name) || sameMeaning.includes(name)]).toEqual([file, name, true]);
      }
    }
  });

  it.each(INSTALL_NAMES)(
    '%s: a published port is the port the service listens on, on this host only by default',
    (install) => {
      const env = exampleEnv(install);
      let published = 0;
      for (const [name, service] of ourServices(installModel(install))) {
        const listens = PARSER_BY_COMMAND[commandOf(install, service)!](serviceEnvironment(service, env)).port;
        for (const mapping of service.ports ?? []) {
          const port = parsePort(interpolate(String(mapping), env));
          expect([name, Number(port.target), port.ip]).toEqual([name, listens, '127.0.0.1']);
          published++;
        }
      }
      expect(published).toBe(install === 'sidecar' ? 1 : 0);
      // Another address is one setting away, e.g. behind a reverse proxy on another machine.
      if (install === 'sidecar') {
        const extension = loadCompose('docker-compose.sidecar.yml').services['immich-ai-extension'];
        const open = { ...env, IMMICH_AI_EXTENSION_BIND: '0.0.0.0', IMMICH_AI_EXTENSION_PORT: '8284' };
        expect(parsePort(interpolate(extension.ports![0], open))).toMatchObject({ ip: '0.0.0.0', published: '8284' });
      }
    },
  );

  it.each(INSTALL_NAMES)('%s: every URL between services names a service and the port it listens on', (install) => {
    const env = exampleEnv(install);
    const services = installModel(install).services;
    let checked = 0;
    for (const [name, service] of Object.entries(services)) {
      if (!service.build && !(name in IMMICH_PORTS)) continue;
      for (const [variable, value] of Object.entries(serviceEnvironment(service, env))) {
        for (const match of value.matchAll(/https?:\/\/([\w-]+):(\d+)/g)) {
          const [, host, port] = match;
          const target = services[host];
          const expected =
            target?.build?.dockerfile === 'docker/Dockerfile'
              ? PARSER_BY_COMMAND[commandOf(install, target)!](serviceEnvironment(target, env)).port
              : IMMICH_PORTS[host];
          expect([name, variable, host, Number(port)]).toEqual([name, variable, host, expected]);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThanOrEqual(3);
  });

  it.each(INSTALL_NAMES)(
    '%s + hwaccel.cuda.yml: the inference service is the CUDA image on an NVIDIA device',
    (install) => {
      const inference = installModel(install, join(DOCKER_DIR, 'hwaccel.cuda.yml')).services['immich-ai-inference'];
      expect(inference.build).toMatchObject({ dockerfile: 'docker/Dockerfile', target: 'inference-cuda' });
      expect(loadInferenceConfig(serviceEnvironment(inference, exampleEnv(install))).device).toBe('cuda');
      expect(JSON.stringify(inference.deploy)).toContain('"driver":"nvidia"');
    },
  );

  it.each(INSTALL_NAMES)('%s: cn-clip weights live in a named volume, so they outlive the containers', (install) => {
    const model = installModel(install);
    const inference = model.services['immich-ai-inference'];
    const [volume, target] = String(inference.volumes![0]).split(':');
    expect(Object.keys(model.volumes ?? {})).toContain(volume);
    expect(
      loadInferenceConfig(serviceEnvironment(inference, exampleEnv(install))).clip.root.startsWith(`${target}/`),
    ).toBe(true);
  });

  it.each(INSTALL_NAMES)(
    '%s: no host folder defaults into this checkout; data folders are ignored by git',
    (install) => {
      const text = INSTALLS[install].files.map((f) => readText(f)).join('\n');
      for (const [, service] of ourServices(installModel(install))) {
        for (const volume of service.volumes ?? []) {
          // A named volume, or a host folder the user must name (no default that could land here).
          expect([volume, /^([\w-]+|\$\{[A-Z_]+:\?[^}]+\}[^:]*):/.test(String(volume))]).toEqual([volume, true]);
        }
      }
      expect(text).not.toMatch(/\$\{(UPLOAD_LOCATION|DB_DATA_LOCATION):-/);
      const ignored = readText(join(ROOT, '.gitignore')).split('\n');
      for (const path of ['/library/', '/postgres/', '/docker/library/', '/docker/postgres/', '/models/', '.env']) {
        expect(ignored).toContain(path);
      }
    },
  );
});

describe('the sidecar reads only the thumbnails', () => {
  const extension = loadCompose('docker-compose.sidecar.yml').services['immich-ai-extension'];

  it.each([
    ['/data', "Immich's media folder since v1.136"],
    ['/usr/src/app/upload', 'an install that still mounts UPLOAD_LOCATION at the old path'],
  ])('media at %s (%s): thumbs mounted read-only where the extension looks for them', (media) => {
    const env = {
      ...exampleEnv('sidecar'),
      IMMICH_MEDIA_LOCATION: media,
      IMMICH_THUMBS_LOCATION: '/srv/immich/thumbs',
    };
    const mounts = (extension.volumes ?? []).map((v) => interpolate(String(v), env).split(':'));
    expect(mounts).toEqual([['/srv/immich/thumbs', `${media}/thumbs`, 'ro']]);
    expect(loadExtensionConfig(serviceEnvironment(extension, env)).mediaLocation).toBe(media);
    expect(extension.volumes_from).toBeUndefined();
  });
});

describe("the patched install over a user's own Immich compose file", () => {
  const userFile = INSTALLS.patched.files[0];
  const user = loadCompose(userFile);
  const merged = installModel('patched');
  const cuda = installModel('patched', join(DOCKER_DIR, 'hwaccel.cuda.yml'));

  it("keeps the user's extra mounts, extends, ports and images, changing only the server's image", () => {
    for (const model of [merged, cuda]) {
      for (const [name, service] of Object.entries(user.services)) {
        const { image, build, environment, ...rest } = model.services[name];
        const { image: userImage, environment: userEnvironment, ...userRest } = service;
        expect([name, rest]).toEqual([name, userRest]);
        if (name !== 'immich-server') {
          expect([name, image, build, environment]).toEqual([name, userImage, undefined, userEnvironment]);
        }
      }
    }
    const server = merged.services['immich-server'];
    expect(server.volumes).toContain('/mnt/nas/photos:/mnt/nas/photos:ro');
    expect(server.extends).toEqual({ file: 'hwaccel.transcoding.yml', service: 'nvenc' });
    expect(server.ports).toEqual(['8443:2283']);
    expect(server.environment?.TZ).toBe('Asia/Shanghai');
    expect(merged.services['immich-machine-learning'].image).toMatch(/-cuda$/);
    expect(merged.services['immich-machine-learning'].extends).toEqual({ file: 'hwaccel.ml.yml', service: 'cuda' });
    expect(Object.keys(merged.volumes ?? {})).toEqual(['model-cache', 'immich-ai-models']);
  });

  it('builds the server image from this checkout, for the release in IMMICH_VERSION', () => {
    const server = merged.services['immich-server'];
    expect(server.image).not.toMatch(/^ghcr\.io\/immich-app\//);
    expect(INSTALLS.patched.hostPath(interpolate(server.build!.context, exampleEnv('patched')))).toBe(ROOT);
    const stages = dockerfileStages(dockerfileOf('patched', server));
    // One default release in three places (the overlay, the example .env, the image), the newest
    // release patches/ has a series for; the image has a stage for each release with a series.
    const newest = `v${supportedVersions().at(-1)}`;
    const overlayDefault = interpolatedVariables(readText(join(DOCKER_DIR, 'immich-ai.yml'))).get('IMMICH_VERSION');
    expect(overlayDefault).toBe(newest);
    expect(readText(dockerfileOf('patched', server))).toContain(`ARG IMMICH_VERSION=${newest}`);
    expect(envExample('immich.env.example').get('IMMICH_VERSION')?.value).toBe(newest);
    for (const release of supportedVersions()) expect(stages.map((s) => s.name)).toContain(`immich-v${release}`);
    expect(Object.keys((server.build!.args ?? {}) as object)).toEqual(['IMMICH_VERSION', 'IMMICH_AI_URL']);
  });

  it('database-zhparser.yml, an opt-in layer, changes the database image only', () => {
    const zhparser = installModel('patched', join(DOCKER_DIR, 'database-zhparser.yml'));
    const { image, build, ...rest } = zhparser.services.database;
    const { image: userImage, ...userRest } = user.services.database;
    expect(rest).toEqual(userRest);
    expect(image).not.toBe(userImage);
    expect(dockerfileOf('patched', { build } as ComposeService)).toBe(join(DOCKER_DIR, 'postgres.Dockerfile'));
    expect({ ...zhparser.services, database: undefined }).toEqual({ ...merged.services, database: undefined });
  });

  it('adds our services and touches no other service of the user', () => {
    const added = Object.keys(merged.services).filter((name) => !(name in user.services));
    expect(added.sort()).toEqual(['immich-ai-doctor', 'immich-ai-gateway', 'immich-ai-inference']);
    expect(merged.name).toBe(user.name);
  });
});

describe('the Compose merge rules the checks above rely on (13-merge.md)', () => {
  const merge = (a: string, b: string) => mergeCompose(loadYaml(a) as ComposeFile, loadYaml(b) as ComposeFile);

  it('merges mappings key by key and appends sequences', () => {
    expect(merge('services: {foo: {key1: a, key2: b}}', 'services: {foo: {key2: B, key3: c}}').services.foo).toEqual({
      key1: 'a',
      key2: 'B',
      key3: 'c',
    });
    expect(merge('services: {foo: {dns: [1.1.1.1]}}', 'services: {foo: {dns: [8.8.8.8]}}').services.foo.dns).toEqual([
      '1.1.1.1',
      '8.8.8.8',
    ]);
  });

  it('replaces commands, and keeps volumes unique by target and ports by address', () => {
    const foo = merge(
      'services: {foo: {command: [echo, foo], volumes: ["foo:/work", "/a:/a"], ports: ["8080:80"], environment: [A=1, B=2]}}',
      'services: {foo: {command: [echo, bar], volumes: ["bar:/work"], ports: ["8080:80", "8443:443"], environment: {B: 3}}}',
    ).services.foo;
    expect(foo.command).toEqual(['echo', 'bar']);
    expect(foo.volumes).toEqual(['bar:/work', '/a:/a']);
    expect(foo.ports).toEqual(['8080:80', '8443:443']);
    expect(foo.environment).toEqual({ A: '1', B: 3 });
    expect(volumeTarget('/srv/x:/data/thumbs:ro')).toBe('/data/thumbs');
  });
});

describe('the documents and the compose files', () => {
  const DOCS = ['README.md', 'docs/install.md', 'docs/configuration.md', 'docs/troubleshooting.md'];
  const text = DOCS.map((f) => readText(join(ROOT, f))).join('\n');
  const models = { sidecar: installModel('sidecar'), patched: installModel('patched') };
  const services = new Set(Object.values(models).flatMap((m) => Object.keys(m.services)));
  const volumes = new Set(Object.values(models).flatMap((m) => Object.keys(m.volumes ?? {})));

  it('every immich-ai service (or volume) the documents name exists in an install', () => {
    const named = new Set([...text.matchAll(/\bimmich-ai-[a-z]+(?:-[a-z]+)*\b/g)].map((m) => m[0]));
    expect(named.size).toBeGreaterThanOrEqual(3);
    for (const name of named) expect([name, services.has(name) || volumes.has(name)]).toEqual([name, true]);
  });

  it('every `docker compose` command in the documents names files and services that exist', () => {
    const commands = [
      ...text.matchAll(/docker compose ((?:-f \S+ )*)(run --rm|exec|logs|up|build|pull|down|stop|restart)([^\n`]*)/g),
    ];
    expect(commands.length).toBeGreaterThanOrEqual(8);
    for (const [line, files, verb, rest] of commands) {
      const names = [...files.matchAll(/-f (\S+)/g)].map((m) => m[1].split('/').pop()!);
      for (const name of names) {
        expect([line, COMPOSE_FILES.includes(name) || name === 'docker-compose.yml']).toEqual([line, true]);
      }
      // Without -f: the files COMPOSE_FILE names, the sidecar's or the patched install's.
      const project = names.includes('docker-compose.sidecar.yml')
        ? models.sidecar.services
        : names.length > 0
          ? models.patched.services
          : { ...models.sidecar.services, ...models.patched.services };
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
  ])('docs/configuration.md documents every variable of the %s in its table', (service, variables) => {
    const configuration = readText(join(ROOT, 'docs', 'configuration.md'));
    const section = configuration.split(/^## /m).find((s) => s.toLowerCase().startsWith(service))!;
    expect(section).toBeDefined();
    // CONCURRENCY is read only to refuse it with a message naming its replacement.
    for (const name of variables.filter((v) => v !== 'CONCURRENCY')) {
      expect([service, name, section.includes(`\`${name}\``)]).toEqual([service, name, true]);
    }
  });

  it('docs/configuration.md documents every variable the compose files and example files name', () => {
    const configuration = readText(join(ROOT, 'docs', 'configuration.md'));
    const names = new Set([
      ...COMPOSE_FILES.flatMap((f) => [...interpolatedVariables(readText(join(DOCKER_DIR, f))).keys()]),
      ...INSTALL_NAMES.flatMap((i) => [...envExample(INSTALLS[i].example).keys()]),
    ]);
    // Our modules' settings in Immich's .env are documented once, under their plain names (plus the prefix rule).
    const documented = (name: string) =>
      configuration.includes(`\`${name}\``) ||
      (name.startsWith('IMMICH_AI_') && configuration.includes(`\`${name.slice('IMMICH_AI_'.length)}\``));
    for (const name of names) expect([name, documented(name)]).toEqual([name, true]);
  });
});
