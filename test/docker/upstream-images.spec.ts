import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Instruction } from 'dockerfile-ast';
import { supportedVersions } from '../../src/patching/immich-patcher';
import {
  DOCKER_DIR,
  dockerfileStages,
  immichSourceDir,
  normalized,
  readText,
  ROOT,
  type Stage,
} from './support/docker-files';

/**
 * The two images we build on someone else's recipe: Immich's server (its own Dockerfile's stages, fed
 * the patched source) and Immich's Postgres (plus zhparser at pinned, checksummed sources).
 */

const VENDOR = process.env.IMMICH_VENDOR_DIR ?? join(ROOT, '..', 'shared', 'vendor');
const argValue = (stage: Stage | undefined, name: string) =>
  stage?.instructions
    .filter((i) => i.getKeyword() === 'ARG')
    .map((i) => i.getArgumentsContent()!.split('='))
    .find(([key]) => key === name)?.[1];

/**
 * Immich's instruction as ours must read it: sources from the patched tree (`--from=patched /immich/`)
 * instead of the build context, everything else the same.
 */
function fromPatchedTree(instruction: Instruction): string {
  const text = normalized(instruction);
  if (instruction.getKeyword() === 'COPY' && !/--from=/.test(text)) {
    return text.replace(/^COPY (?:\.\/)?/, 'COPY --from=patched /immich/');
  }
  return text.replace(/--mount=type=bind,source=([\w.-]+),/g, '--mount=type=bind,from=patched,source=/immich/$1,');
}

describe("Immich's server image with the patches (docker/immich-server.Dockerfile)", () => {
  const ours = dockerfileStages(join(DOCKER_DIR, 'immich-server.Dockerfile'));

  it("from its second stage on, it is Immich v2.4.1's server/Dockerfile reading the patched tree", () => {
    const immich = dockerfileStages(join(immichSourceDir(), 'server', 'Dockerfile'));
    const flatten = (stages: Stage[], map: (i: Instruction) => string) =>
      stages.flatMap((s) => [`FROM ${s.from}${s.name ? ` AS ${s.name}` : ''}`, ...s.instructions.map(map)]);
    expect(flatten(ours.slice(1), normalized)).toEqual(flatten(immich, fromPatchedTree));
  });

  it('its first stage fetches the pinned Immich commit and runs `immich-ai patch` on it', () => {
    const [patched] = ours;
    expect(patched.name).toBe('patched');
    // The vendored source the tests build and patch is the same commit.
    const vendored = /immich-app\/immich v([\d.]+) \(commit ([0-9a-f]+)\)/.exec(readText(join(VENDOR, 'README.md')));
    expect(supportedVersions()).toContain(vendored?.[1]);
    expect(argValue(patched, 'IMMICH_COMMIT')?.startsWith(vendored![2])).toBe(true);
    const runs = patched.instructions.map(normalized);
    expect(runs).toContainEqual(expect.stringContaining('test "$(git rev-parse HEAD)" = "$IMMICH_COMMIT"'));
    expect(runs[runs.length - 1]).toBe('RUN npm run build && node dist/cli.js patch /immich');
  });
});

describe("Immich's Postgres with zhparser (docker/postgres.Dockerfile)", () => {
  const stages = dockerfileStages(join(DOCKER_DIR, 'postgres.Dockerfile'));
  const build = stages[0];

  it("builds on Immich's pinned image and keeps it, adding zhparser and sql/zhparser.sql for new databases", () => {
    expect(stages.map((s) => s.from)).toEqual([build.from, build.from]);
    expect(build.from).toMatch(/^ghcr\.io\/immich-app\/postgres:14-vectorchord[\w.-]+@sha256:[0-9a-f]{64}$/);
    const final = stages[1].instructions.map(normalized);
    expect(final).toEqual([
      'COPY --from=build /out/ /',
      'COPY sql/zhparser.sql /docker-entrypoint-initdb.d/10-zhparser.sql',
    ]);
  });

  it('checks each source archive against a sha256, and the SCWS one is the vendored 1.2.3 archive', () => {
    // Raw text: sha256sum -c wants the two spaces between sum and file name.
    const runs = build.instructions.filter((i) => i.getKeyword() === 'RUN').map((i) => i.getTextContent());
    for (const [name, sum] of [
      ['scws', 'SCWS_TAR_SHA256'],
      ['zhparser', 'ZHPARSER_TAR_SHA256'],
    ]) {
      expect(argValue(build, sum)).toMatch(/^[0-9a-f]{64}$/);
      const fetch = runs.find((r) => r.includes(`curl -fsSL "https://github.com/`) && r.includes(`> ${name}.tar`));
      expect(fetch).toContain(`echo "\${${sum}}  ${name}.tar" | sha256sum -c -`);
    }
    // The vendored archive is the same `git archive` of the tag: its tar has the pinned sum, and its
    // header names the pinned commit.
    const tar = gunzipSync(readFileSync(join(VENDOR, `scws-${argValue(build, 'SCWS_VERSION')}.tar.gz`)));
    expect(createHash('sha256').update(tar).digest('hex')).toBe(argValue(build, 'SCWS_TAR_SHA256'));
    expect(tar.subarray(0, 1024).toString('latin1')).toContain(`comment=${argValue(build, 'SCWS_COMMIT')}`);
  });

  it('pins zhparser to the commit the vendored sources (and so the test suite) use', () => {
    const vendored = /amutu\/zhparser ([0-9a-f]{7,40})/.exec(readText(join(VENDOR, 'README.md')));
    const commit = argValue(build, 'ZHPARSER_COMMIT');
    expect(commit).toMatch(/^[0-9a-f]{40}$/);
    expect(commit!.startsWith(vendored![1])).toBe(true);
  });
});
