import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Instruction } from 'dockerfile-ast';
import { supportedVersions } from '../../src/patching/immich-patcher';
import { upstreamPins, upstreamSource } from '../support/upstream-sources';
import { argValue, DOCKER_DIR, dockerfileStages, normalized, readText, type Stage } from './support/docker-files';

/**
 * The two images we build on someone else's recipe: Immich's server (its own Dockerfile's stages, fed
 * the patched source) and Immich's Postgres (plus zhparser at pinned, checksummed sources). Their pins
 * are the ones the tests' sources are fetched at (scripts/upstream-sources.env).
 */

const PINS = upstreamPins();

/** The vendor folder's README, when the sources come from one (fetched ones have none). */
function vendorReadme(): string | undefined {
  const readme = join(dirname(upstreamSource('immich-v2.4.1.tar.xz')), 'README.md');
  return existsSync(readme) ? readText(readme) : undefined;
}

/** Build metadata (who built the image, from what): Immich's names its CI run, ours names this build. */
const isBuildMetadata = (instruction: Instruction) =>
  ['ARG', 'ENV'].includes(instruction.getKeyword()) &&
  /^(BUILD_|IMMICH_(BUILD|REPOSITORY|SOURCE|THIRD_PARTY|RELEASE|COMMIT|AI_URL))/.test(
    instruction.getArgumentsContent()!,
  );

/** The oazapfts that reproduces each release's SDK (scripts/immich-server.sh pins the same). */
const OAZAPFTS: Record<string, string> = { '2.4.1': '6.2.1', '3.1.0': '7.5.0' };

/** A release's stages in ours: `v<major>-builder`, ..., and the release's image `immich-v<release>`. */
const stageName = (major: string, name: string | undefined, release: string) =>
  name ? `v${major}-${name}` : `immich-v${release}`;

/**
 * Immich's instruction as ours must read it: sources from the patched tree
 * (`--from=patched-v<major> /immich/`) instead of the build context, earlier stages by their prefixed
 * names, everything else the same.
 */
function fromPatchedTree(instruction: Instruction, major: string): string {
  const patched = `patched-v${major}`;
  const text = normalized(instruction).replace(/--from=(server|web|cli|plugins) /g, `--from=v${major}-$1 `);
  if (instruction.getKeyword() === 'COPY' && !/--from=/.test(text)) {
    return text.replace(/^COPY (?:\.\/)?/, `COPY --from=${patched} /immich/`);
  }
  return text.replace(/--mount=type=bind,source=([\w.-]+),/g, `--mount=type=bind,from=${patched},source=/immich/$1,`);
}

/** server/Dockerfile of an Immich release, read from its source archive. */
function immichDockerfile(release: string): Stage[] {
  const dir = mkdtempSync(join(tmpdir(), 'immich-dockerfile-'));
  try {
    const file = join(dir, 'Dockerfile');
    writeFileSync(
      file,
      execFileSync('tar', [
        '-xJOf',
        upstreamSource(`immich-v${release}.tar.xz`),
        `immich-v${release}/server/Dockerfile`,
      ]),
    );
    return dockerfileStages(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("Immich's server image with the patches (docker/immich-server.Dockerfile)", () => {
  const ours = dockerfileStages(join(DOCKER_DIR, 'immich-server.Dockerfile'));
  // Build metadata is left out on both sides: Immich's names its CI run, ours this build.
  const flatten = (stages: Stage[], map: (i: Instruction) => string, name = (s: Stage) => s.name) =>
    stages.flatMap((s) => [
      `FROM ${s.from}${name(s) ? ` AS ${name(s)}` : ''}`,
      ...s.instructions.filter((i) => !isBuildMetadata(i)).map(map),
    ]);

  it("builds the image of the release IMMICH_VERSION (Immich's own variable) names, v3.1.0 by default", () => {
    const image = ours[ours.length - 1];
    // FROM immich-${IMMICH_VERSION}, with the ARG's default resolved.
    expect(image.from).toBe('immich-v3.1.0');
    expect(image.instructions).toEqual([]);
    expect(readText(join(DOCKER_DIR, 'immich-server.Dockerfile'))).toMatch(/^ARG IMMICH_VERSION=v3\.1\.0$/m);
    for (const release of supportedVersions()) expect(ours.map((s) => s.name)).toContain(`immich-v${release}`);
  });

  describe.each(supportedVersions())('for Immich v%s', (release) => {
    const major = release.split('.')[0];
    const first = ours.findIndex((s) => s.name === `patched-v${major}`);
    const last = ours.findIndex((s) => s.name === `immich-v${release}`);

    it("has the stages of that release's own server/Dockerfile, reading the patched tree", () => {
      const immich = immichDockerfile(release).map((s) => ({
        ...s,
        from: s.from === 'builder' ? `v${major}-builder` : s.from,
      }));
      expect(flatten(ours.slice(first + 1, last + 1), normalized)).toEqual(
        flatten(
          immich,
          (i) => fromPatchedTree(i, major),
          (s) => stageName(major, s.name, release),
        ),
      );
    });

    it("says it is this build, not Immich's: every third-party link Immich reads points at immich-all-in-one", () => {
      const image = ours[last];
      const env = Object.fromEntries(
        image.instructions
          .filter((i) => i.getKeyword() === 'ENV')
          .map((i) => normalized(i).replace(/^ENV /, '').split(/=(.*)/s).slice(0, 2)),
      );
      const dto = execFileSync(
        'tar',
        ['-xJOf', upstreamSource(`immich-v${release}.tar.xz`), `immich-v${release}/server/src/dtos/env.dto.ts`],
        { encoding: 'utf8' },
      );
      const thirdParty = [...dto.matchAll(/^\s+(IMMICH_THIRD_PARTY_\w+)\??:/gm)].map((m) => m[1]);
      expect(thirdParty.length).toBeGreaterThanOrEqual(4);
      for (const name of thirdParty)
        expect([name, env[name]]).toEqual([name, expect.stringMatching(/^\$\{IMMICH_AI_URL\}/)]);
      // Immich's source at the pinned commit; no link to Immich's CI runs or image, which did not build it.
      expect(env.IMMICH_SOURCE_COMMIT).toBe(argValue(ours[first], 'IMMICH_COMMIT'));
      expect(env.IMMICH_BUILD_URL).toBeUndefined();
      expect(env.IMMICH_BUILD_IMAGE_URL).toBe('${IMMICH_AI_URL}');
    });

    it("fetches the pinned commit of that release (the tests' source) and runs `immich-ai patch` on it", () => {
      const patched = ours[first];
      expect(patched.from).toMatch(/^node:24[\w.-]*@sha256:[0-9a-f]{64}$/);
      expect(argValue(patched, 'IMMICH_COMMIT')).toBe(PINS[`IMMICH_${release.replace(/\./g, '_')}_COMMIT`]);
      const readme = vendorReadme();
      if (readme !== undefined) {
        const row = readme.split('\n').find((line) => line.includes(`immich-v${release}.tar.xz`));
        const vendored = /commit ([0-9a-f]{7,})/.exec(row ?? '')?.[1];
        expect(vendored).toBeDefined();
        expect(argValue(patched, 'IMMICH_COMMIT')?.startsWith(vendored!)).toBe(true);
      }
      const runs = patched.instructions.map(normalized);
      expect(runs).toContainEqual(expect.stringContaining('test "$(git rev-parse HEAD)" = "$IMMICH_COMMIT"'));
      expect(runs).toContainEqual('RUN npm run build && node dist/cli.js patch /immich');
      // Generated files come from Immich's generator run on the patched server, never from a patch.
      expect(runs[runs.length - 1]).toContain('node /immich-ai/dist/cli.js patch --open-api /immich');
      expect(runs[runs.length - 1]).toContain(`oazapfts@${OAZAPFTS[release]}`);
    });
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

  it("checks each source archive against a sha256, the tests' pins, and the SCWS one is the tests' 1.2.3 archive", () => {
    // Raw text: sha256sum -c wants the two spaces between sum and file name.
    const runs = build.instructions.filter((i) => i.getKeyword() === 'RUN').map((i) => i.getTextContent());
    for (const [name, sum] of [
      ['scws', 'SCWS_TAR_SHA256'],
      ['zhparser', 'ZHPARSER_TAR_SHA256'],
    ]) {
      expect(argValue(build, sum)).toMatch(/^[0-9a-f]{64}$/);
      expect(argValue(build, sum)).toBe(PINS[sum]);
      const fetch = runs.find((r) => r.includes(`curl -fsSL "https://github.com/`) && r.includes(`> ${name}.tar`));
      expect(fetch).toContain(`echo "\${${sum}}  ${name}.tar" | sha256sum -c -`);
    }
    for (const name of ['SCWS_VERSION', 'SCWS_COMMIT'])
      expect([name, argValue(build, name)]).toEqual([name, PINS[name]]);
    // The tests' archive (vendored, or fetched and checked) is the same `git archive` of the tag: its
    // tar has the pinned sum, and its header names the pinned commit.
    const tar = gunzipSync(readFileSync(upstreamSource(`scws-${argValue(build, 'SCWS_VERSION')}.tar.gz`)));
    expect(createHash('sha256').update(tar).digest('hex')).toBe(argValue(build, 'SCWS_TAR_SHA256'));
    expect(tar.subarray(0, 1024).toString('latin1')).toContain(`comment=${argValue(build, 'SCWS_COMMIT')}`);
  });

  it("pins zhparser to the commit the tests' sources use", () => {
    const commit = argValue(build, 'ZHPARSER_COMMIT');
    expect(commit).toMatch(/^[0-9a-f]{40}$/);
    expect(commit).toBe(PINS.ZHPARSER_COMMIT);
    const readme = vendorReadme();
    if (readme !== undefined) {
      const vendored = /amutu\/zhparser ([0-9a-f]{7,40})/.exec(readme);
      expect(commit!.startsWith(vendored![1])).toBe(true);
    }
  });
});

describe("the tests' pgvector (scripts/upstream-sources.env; Immich's Postgres image has its own)", () => {
  it('is the `git archive` of the pinned tag: its tar has the pinned sum and its header names the commit', () => {
    const tar = gunzipSync(readFileSync(upstreamSource(`pgvector-${PINS.PGVECTOR_VERSION}.tar.gz`)));
    expect(createHash('sha256').update(tar).digest('hex')).toBe(PINS.PGVECTOR_TAR_SHA256);
    expect(tar.subarray(0, 1024).toString('latin1')).toContain(`comment=${PINS.PGVECTOR_COMMIT}`);
  });
});
