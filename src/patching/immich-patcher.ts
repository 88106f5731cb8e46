import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';

/**
 * Applies our patches to an Immich source tree and puts the extension bundle beside its server.
 * All or nothing: every patch is checked before any is applied, and one that does not apply is named
 * with its file and hunk. Patches already applied are skipped, so running it twice changes nothing.
 */

const run = promisify(execFile);

export const IMMICH_VERSION = '2.4.1';
/** Where the bundle goes in Immich's tree: beside server/src, shipped by Immich's Dockerfile (pnpm deploy). */
export const BUNDLE_DIR = join('server', 'immich-ai');

export interface PatchFiles {
  /** patches/<area>/*.patch, in order. */
  patches: string[];
  /** dist/immich/extension.cjs and extension.d.cts. */
  bundle: { code: string; types: string };
}

export function defaultPatchFiles(root = join(__dirname, '..', '..')): PatchFiles {
  const patches = ['server', 'web']
    .map((area) => join(root, 'patches', area))
    .filter((dir) => existsSync(dir))
    .flatMap((dir) =>
      readdirSync(dir)
        .filter((file) => file.endsWith('.patch'))
        .sort()
        .map((file) => join(dir, file)),
    );
  return {
    patches,
    bundle: {
      code: join(root, 'dist', 'immich', 'extension.cjs'),
      types: join(root, 'dist', 'immich', 'extension.d.cts'),
    },
  };
}

export type PatchState = 'applied' | 'pending' | 'conflict';

export interface PatchReport {
  patch: string;
  state: PatchState;
  /** For a conflict: the file and hunk that do not apply, and git's words. */
  problem?: string;
}

export class PatchError extends Error {}

/** Refuses a folder that is not Immich v2.4.1, saying what it found. */
export function checkImmichTree(dir: string): void {
  const manifest = join(dir, 'server', 'package.json');
  if (!existsSync(manifest)) throw new PatchError(`${dir} is not an Immich source tree: ${manifest} is missing`);
  const { name, version } = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string; version?: string };
  if (name !== 'immich') throw new PatchError(`${manifest} is package "${name}", not Immich's server`);
  if (version !== IMMICH_VERSION) {
    throw new PatchError(
      `${dir} is Immich ${version}; these patches are for v${IMMICH_VERSION}. Check them with --check and refresh the ones that conflict (README: "When Immich moves past v${IMMICH_VERSION}")`,
    );
  }
}

/** git apply in `dir` as a plain folder, even when a parent folder is a git repository. */
async function gitApply(dir: string, patch: string, args: string[]): Promise<{ ok: boolean; stderr: string }> {
  try {
    await run('git', ['apply', ...args, resolve(patch)], {
      cwd: dir,
      env: { ...process.env, GIT_CEILING_DIRECTORIES: dirname(resolve(dir)) },
    });
    return { ok: true, stderr: '' };
  } catch (error) {
    const failure = error as { stderr?: string; code?: string | number };
    if (failure.code === 'ENOENT') throw new PatchError('git is needed to apply the patches and was not found on PATH');
    return { ok: false, stderr: failure.stderr ?? String(error) };
  }
}

/** "server/src/app.module.ts, hunk @@ -54,7 +54,10 @@ (near `const bullImports = ...`)". */
function describeConflict(patch: string, stderr: string): string {
  const failed = /patch failed: (.+):(\d+)/.exec(stderr);
  const missing = /(\S+): No such file or directory|can't find file to patch|(\S+): does not exist in index/.exec(
    stderr,
  );
  if (failed) {
    const [, file, line] = failed;
    const hunk = readFileSync(patch, 'utf8')
      .split('\n')
      .find((text) => text.startsWith(`@@ -${line},`) || text.startsWith(`@@ -${line} `));
    return `${file}, hunk ${hunk ?? `at line ${line}`} does not apply`;
  }
  if (missing) return `${missing[1] ?? missing[2] ?? 'a file'} is missing`;
  return stderr.trim().split('\n')[0] ?? 'does not apply';
}

export async function inspect(dir: string, files: PatchFiles): Promise<PatchReport[]> {
  const reports: PatchReport[] = [];
  for (const patch of files.patches) {
    const name = patch.split(/[\\/]/).slice(-2).join('/');
    if ((await gitApply(dir, patch, ['--check', '--reverse'])).ok) {
      reports.push({ patch: name, state: 'applied' });
      continue;
    }
    const forward = await gitApply(dir, patch, ['--check']);
    reports.push(
      forward.ok
        ? { patch: name, state: 'pending' }
        : { patch: name, state: 'conflict', problem: describeConflict(patch, forward.stderr) },
    );
  }
  return reports;
}

/** Applies what is pending and copies the bundle; throws a PatchError (and changes nothing) on a conflict. */
export async function applyPatches(dir: string, files: PatchFiles): Promise<PatchReport[]> {
  checkImmichTree(dir);
  for (const file of [files.bundle.code, files.bundle.types]) {
    if (!existsSync(file)) throw new PatchError(`${file} is missing: run \`npm run build\` first`);
  }
  const reports = await inspect(dir, files);
  const conflicts = reports.filter((report) => report.state === 'conflict');
  if (conflicts.length > 0) {
    throw new PatchError(
      `nothing was changed; ${conflicts.length} patch(es) do not apply:\n${conflicts.map((c) => `  ${c.patch}: ${c.problem}`).join('\n')}`,
    );
  }
  const applied: string[] = [];
  for (const [index, report] of reports.entries()) {
    if (report.state !== 'pending') continue;
    const patch = files.patches[index];
    const result = await gitApply(dir, patch, []);
    if (!result.ok) {
      // Checked a moment ago; if it fails now, put back what this run changed.
      for (const done of applied.reverse()) await gitApply(dir, done, ['--reverse']);
      throw new PatchError(`nothing was changed; ${report.patch}: ${describeConflict(patch, result.stderr)}`);
    }
    applied.push(patch);
  }
  mkdirSync(join(dir, BUNDLE_DIR), { recursive: true });
  copyFileSync(files.bundle.code, join(dir, BUNDLE_DIR, 'extension.cjs'));
  copyFileSync(files.bundle.types, join(dir, BUNDLE_DIR, 'extension.d.cts'));
  return reports;
}
