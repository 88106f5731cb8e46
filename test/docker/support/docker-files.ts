import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, normalize, relative, resolve, sep } from 'node:path';
import dockerignore from '@balena/dockerignore';
import type { Command } from 'commander';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { load as loadYaml } from 'js-yaml';
import { createProgram } from '../../../src/cli/program';

/** Reading docker/ as Docker and Compose would, for the static checks: no engine, no image pulls. */

export const ROOT = join(__dirname, '..', '..', '..');
export const DOCKER_DIR = join(ROOT, 'docker');

export const COMPOSE_FILES = [
  'docker-compose.sidecar.yml',
  'immich-ai.yml',
  'hwaccel.cuda.yml',
  'database-zhparser.yml',
];

/**
 * A self-hoster's Immich folder: their own docker-compose.yml (Immich's, with what people add to it),
 * into which this repository is cloned as ./immich-all-in-one for the patched install.
 */
export const IMMICH_FOLDER = join(__dirname, '..', 'fixtures', 'immich-app');
export const CHECKOUT_IN_IMMICH_FOLDER = 'immich-all-in-one';

export type InstallName = 'sidecar' | 'patched';

export interface Install {
  /** The compose files, in the order Compose reads them (paths are read from the first one's folder). */
  files: string[];
  /** The file whose values `docker compose` interpolates with: ours for the sidecar, lines added to Immich's .env for the patched install. */
  example: string;
  /** The host folder a relative path in these files means. */
  hostPath(path: string): string;
}

export const INSTALLS: Record<InstallName, Install> = {
  sidecar: {
    files: [join(DOCKER_DIR, 'docker-compose.sidecar.yml')],
    example: '.env.example',
    hostPath: (path) => resolve(DOCKER_DIR, path),
  },
  patched: {
    files: [join(IMMICH_FOLDER, 'docker-compose.yml'), join(DOCKER_DIR, 'immich-ai.yml')],
    example: 'immich.env.example',
    // Immich's folder, with this repository cloned into it.
    hostPath: (path) => {
      const [first, ...rest] = normalize(path).split(sep);
      return first === CHECKOUT_IN_IMMICH_FOLDER ? join(ROOT, ...rest) : resolve(IMMICH_FOLDER, path);
    },
  },
};

/** The install a compose file of ours belongs to; undefined for a layer (hwaccel.cuda.yml on either, database-zhparser.yml on the patched one). */
export const installOf = (file: string): InstallName | undefined =>
  file === 'docker-compose.sidecar.yml' ? 'sidecar' : file === 'immich-ai.yml' ? 'patched' : undefined;

export interface ComposeBuild {
  context: string;
  dockerfile?: string;
  target?: string;
  args?: Record<string, string> | string[];
}

export interface ComposeService {
  image?: string;
  build?: ComposeBuild;
  command?: string[];
  environment?: Record<string, string | number | boolean | null>;
  env_file?: (string | { path: string })[];
  ports?: string[];
  volumes?: (string | { target: string })[];
  depends_on?: string[] | Record<string, unknown>;
  profiles?: string[];
  [key: string]: unknown;
}

export interface ComposeFile {
  name?: string;
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
  [key: string]: unknown;
}

export const readText = (path: string) => readFileSync(path, 'utf8');

/** A compose file: a name in docker/, or a path. */
export function loadCompose(file: string): ComposeFile {
  return loadYaml(readText(isAbsolute(file) ? file : join(DOCKER_DIR, file))) as ComposeFile;
}

/** An install's whole application model, its files merged as Compose merges them. */
export const installModel = (install: InstallName, ...more: string[]) =>
  mergeCompose(...[...INSTALLS[install].files, ...more].map(loadCompose));

/**
 * The Compose Specification's merge rules (13-merge.md), for the attributes our files and Immich's
 * use: mappings merge key by key, later files winning; sequences append; `command`, `entrypoint` and
 * `healthcheck.test` are replaced; `volumes`, `secrets` and `configs` are unique by target, `ports`
 * by ip, target, published port and protocol; `environment`, `labels` and `depends_on` merge as the
 * mappings their list forms stand for.
 */
export function mergeCompose(...models: ComposeFile[]): ComposeFile {
  return models.reduce((a, b) => mergeValue(a, b, []) as ComposeFile);
}

const REPLACED = new Set(['command', 'entrypoint']);
const AS_MAPPING = new Set(['environment', 'labels', 'depends_on']);
const UNIQUE_BY: Record<string, (entry: unknown) => string> = {
  volumes: (entry) => (typeof entry === 'string' ? volumeTarget(entry) : String((entry as { target: string }).target)),
  secrets: (entry) =>
    typeof entry === 'string'
      ? entry
      : String((entry as { target?: string; source: string }).target ?? (entry as { source: string }).source),
  configs: (entry) =>
    typeof entry === 'string'
      ? entry
      : String((entry as { target?: string; source: string }).target ?? (entry as { source: string }).source),
  ports: (entry) => {
    const { ip, target, published, protocol } = parsePort(entry);
    return `${ip}|${target}|${published}|${protocol}`;
  },
};

function mergeValue(a: unknown, b: unknown, path: string[]): unknown {
  const inService = path.length === 3 && path[0] === 'services';
  const key = path[path.length - 1];
  if (inService && REPLACED.has(key)) return b;
  if (path.length === 4 && path[0] === 'services' && path[2] === 'healthcheck' && key === 'test') return b;
  if (inService && AS_MAPPING.has(key)) return mergeValue(asMapping(key, a), asMapping(key, b), [...path, '']);
  if (Array.isArray(a) && Array.isArray(b)) {
    const unique = inService ? UNIQUE_BY[key] : undefined;
    if (!unique) return [...a, ...b];
    const merged = new Map(a.map((entry) => [unique(entry), entry] as const));
    for (const entry of b) merged.set(unique(entry), entry);
    return [...merged.values()];
  }
  if (isRecord(a) && isRecord(b)) {
    const out: Record<string, unknown> = { ...a };
    for (const [name, value] of Object.entries(b))
      out[name] = name in a ? mergeValue(a[name], value, [...path, name]) : value;
    return out;
  }
  return b;
}

function asMapping(key: string, value: unknown): Record<string, unknown> {
  if (!Array.isArray(value)) return (value ?? {}) as Record<string, unknown>;
  if (key === 'depends_on')
    return Object.fromEntries(value.map((name: string) => [name, { condition: 'service_started' }]));
  return Object.fromEntries(
    value.map((entry: string) => {
      const at = entry.indexOf('=');
      return at < 0 ? [entry, null] : [entry.slice(0, at), entry.slice(at + 1)];
    }),
  );
}

/** `src:target[:mode]` or `target`. */
export const volumeTarget = (entry: string) => {
  const parts = entry.split(':');
  return parts.length === 1 ? parts[0] : parts[1];
};

/** A short-syntax port, `[ip:][published:]target[/protocol]`. */
export function parsePort(entry: unknown): { ip: string; published: string; target: string; protocol: string } {
  if (typeof entry !== 'string' && typeof entry !== 'number') {
    const long = entry as { host_ip?: string; published?: string; target: number; protocol?: string };
    return {
      ip: long.host_ip ?? '',
      published: String(long.published ?? ''),
      target: String(long.target),
      protocol: long.protocol ?? 'tcp',
    };
  }
  const [spec, protocol = 'tcp'] = String(entry).split('/');
  const parts = spec.split(':');
  const target = parts.pop()!;
  const published = parts.pop() ?? '';
  return { ip: parts.join(':'), published, target, protocol };
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** An example env file in docker/: every `VAR=value` line, set or commented out (a commented line shows the default). */
export function envExample(file = '.env.example'): Map<string, { value: string; commented: boolean }> {
  const variables = new Map<string, { value: string; commented: boolean }>();
  for (const line of readText(join(DOCKER_DIR, file)).split('\n')) {
    const match = /^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (match) variables.set(match[2], { value: match[3].trim(), commented: Boolean(match[1]) });
  }
  return variables;
}

/** Every `${VAR...}` a compose file interpolates, with its `:-` default when it has one. */
export function interpolatedVariables(text: string): Map<string, string | undefined> {
  const found = new Map<string, string | undefined>();
  for (const match of text.matchAll(/\$\{([A-Z][A-Z0-9_]*)(?::?([-?])([^}]*))?\}/g)) {
    found.set(match[1], match[2] === '-' ? match[3] : found.get(match[1]));
  }
  return found;
}

/** Compose's interpolation for the forms our files use: ${VAR}, ${VAR:-default}, ${VAR:?message}. */
export function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(/\$\{([A-Z][A-Z0-9_]*)(?::([-?])([^}]*))?\}/g, (_, name: string, kind?: string, rest = '') => {
    if (env[name]) return env[name];
    if (kind === '-') return rest;
    throw new Error(`\${${name}} is not set${kind === '?' ? `: ${rest}` : ''}`);
  });
}

/** A service's environment as the container gets it, interpolated with `env`. */
export function serviceEnvironment(service: ComposeService, env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(service.environment ?? {}).map(([key, value]) => [key, interpolate(String(value ?? ''), env)]),
  );
}

// ---- Dockerfiles ---------------------------------------------------------------------------------

export interface Stage {
  name?: string;
  /** The image or earlier stage it starts from, build arguments resolved. */
  from: string;
  instructions: Instruction[];
  /** The ARGs declared before the first FROM, with their defaults. */
  globalArgs: Record<string, string>;
}

/** A Dockerfile's stages, with `FROM ${ARG}` resolved from the ARGs before the first FROM. */
export function dockerfileStages(path: string): Stage[] {
  const dockerfile = DockerfileParser.parse(readText(path));
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const instruction of dockerfile.getInstructions()) {
    const keyword = instruction.getKeyword();
    if (keyword === 'FROM') {
      const [image, , name] = instruction.getArguments().map((a) => a.getValue());
      const from = image.replace(/\$\{(\w+)\}/g, (_, arg: string) => globalArgs[arg] ?? '');
      stages.push({ name, from, instructions: [], globalArgs });
    } else if (stages.length === 0 && keyword === 'ARG') {
      const [name, value = ''] = instruction.getArgumentsContent()!.split('=');
      globalArgs[name] = value;
    } else if (stages.length > 0) {
      stages[stages.length - 1].instructions.push(instruction);
    }
  }
  return stages;
}

/** A build argument's default as a stage sees it: its own ARG's value, else the global one it redeclares. */
export function argValue(stage: Stage | undefined, name: string): string | undefined {
  const declared = stage?.instructions
    .filter((i) => i.getKeyword() === 'ARG')
    .map((i) => i.getArgumentsContent()!.split('='))
    .find(([key]) => key === name);
  if (!declared) return undefined;
  return declared.length > 1 ? declared.slice(1).join('=') : stage!.globalArgs[name];
}

/** The stage chain a target is built from, base first: `inference` -> runtime -> inference. */
export function stageChain(stages: Stage[], target?: string): Stage[] {
  const stage = target === undefined ? stages[stages.length - 1] : stages.find((s) => s.name === target);
  if (!stage) throw new Error(`no stage named ${target}`);
  const base = stages.find((s) => s.name === stage.from);
  return base ? [...stageChain(stages, base.name), stage] : [stage];
}

/** What an image's instruction of that kind ends up as: the last one along the chain. */
export function lastInstruction(chain: Stage[], keyword: string): Instruction | undefined {
  return chain
    .flatMap((stage) => stage.instructions)
    .filter((i) => i.getKeyword() === keyword)
    .pop();
}

/** The arguments of an exec-form (JSON) or shell-form instruction. */
export function instructionArgs(instruction: Instruction): string[] {
  const json = (instruction as Instruction & { getJSONStrings?(): { getJSONValue(): string }[] }).getJSONStrings?.();
  if (json && json.length > 0) return json.map((s) => s.getJSONValue());
  return instruction.getArguments().map((a) => a.getValue());
}

/** An instruction's whole text, flags included, with line continuations and runs of blanks as single spaces. */
export const normalized = (instruction: Instruction) =>
  instruction
    .getTextContent()
    .replace(/\\\r?\n/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();

/** The files of a build context that `.dockerignore` lets through, as paths relative to the context. */
export function contextFiles(context: string): string[] {
  const ignore = dockerignore().add(readText(join(context, '.dockerignore')));
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      if (entry === 'node_modules' || entry === '.git') continue;
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else files.push(relative(context, path));
    }
  };
  walk(context);
  return ignore.filter(files);
}

// ---- our CLI -------------------------------------------------------------------------------------

/** The subcommand `immich-ai ...args` runs (`serve inference`), or undefined when there is none. */
export function cliCommand(args: string[]): string | undefined {
  let command: Command = createProgram();
  const path: string[] = [];
  for (const arg of args) {
    if (arg.startsWith('-')) break;
    const sub = command.commands.find((c) => c.name() === arg);
    if (!sub) break;
    command = sub;
    path.push(arg);
  }
  // A command with subcommands of its own (`serve`) is not something to run.
  return path.length > 0 && command.commands.length === 0 ? path.join(' ') : undefined;
}

// ---- Immich v2.4.1, from the vendored source the test suite builds -------------------------------

export function immichSourceDir(): string {
  return execFileSync(join(ROOT, 'scripts', 'immich-server.sh'), ['dir'], { encoding: 'utf8' }).trim();
}

/** Every environment variable Immich's server reads: its EnvDto, and `process.env.X` in its source. */
export function immichEnvVariables(): Set<string> {
  const dir = join(immichSourceDir(), 'server', 'src');
  const names = new Set<string>();
  for (const match of readText(join(dir, 'dtos', 'env.dto.ts')).matchAll(/^\s+([A-Z][A-Z0-9_]+)[?!]?:/gm)) {
    names.add(match[1]);
  }
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder)) {
      const path = join(folder, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (entry.endsWith('.ts') && !entry.endsWith('.spec.ts')) {
        for (const match of readText(path).matchAll(/process\.env\.([A-Z][A-Z0-9_]+)/g)) names.add(match[1]);
      }
    }
  };
  walk(dir);
  return names;
}
