import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import dockerignore from '@balena/dockerignore';
import type { Command } from 'commander';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { load as loadYaml } from 'js-yaml';
import { createProgram } from '../../../src/cli/program';

/** Reading docker/ as Docker and Compose would, for the static checks: no engine, no image pulls. */

export const ROOT = join(__dirname, '..', '..', '..');
export const DOCKER_DIR = join(ROOT, 'docker');

export const COMPOSE_FILES = ['docker-compose.sidecar.yml', 'docker-compose.patched.yml', 'hwaccel.cuda.yml'];
/** The files that describe a whole project (the hwaccel file is only ever added to one of them). */
export const PROJECT_FILES = ['docker-compose.sidecar.yml', 'docker-compose.patched.yml'];

export interface ComposeBuild {
  context: string;
  dockerfile?: string;
  target?: string;
}

export interface ComposeService {
  image?: string;
  build?: ComposeBuild;
  command?: string[];
  environment?: Record<string, string | number | boolean | null>;
  env_file?: (string | { path: string })[];
  ports?: string[];
  depends_on?: string[] | Record<string, unknown>;
  profiles?: string[];
  [key: string]: unknown;
}

export interface ComposeFile {
  name?: string;
  services: Record<string, ComposeService>;
  [key: string]: unknown;
}

export const readText = (path: string) => readFileSync(path, 'utf8');

export function loadCompose(file: string): ComposeFile {
  return loadYaml(readText(join(DOCKER_DIR, file))) as ComposeFile;
}

/** `docker-compose.sidecar.yml` + `hwaccel.cuda.yml`: mappings merged key by key, later files win. */
export function mergeCompose(...files: string[]): ComposeFile {
  const merge = (a: unknown, b: unknown): unknown => {
    if (isRecord(a) && isRecord(b)) {
      const out: Record<string, unknown> = { ...a };
      for (const [key, value] of Object.entries(b)) out[key] = key in a ? merge(a[key], value) : value;
      return out;
    }
    return b;
  };
  return files.map(loadCompose).reduce((a, b) => merge(a, b) as ComposeFile);
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** docker/.env.example: every `VAR=value` line, set or commented out (a commented line shows the default). */
export function envExample(): Map<string, { value: string; commented: boolean }> {
  const variables = new Map<string, { value: string; commented: boolean }>();
  for (const line of readText(join(DOCKER_DIR, '.env.example')).split('\n')) {
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
      stages.push({ name, from, instructions: [] });
    } else if (stages.length === 0 && keyword === 'ARG') {
      const [name, value = ''] = instruction.getArgumentsContent()!.split('=');
      globalArgs[name] = value;
    } else if (stages.length > 0) {
      stages[stages.length - 1].instructions.push(instruction);
    }
  }
  return stages;
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
