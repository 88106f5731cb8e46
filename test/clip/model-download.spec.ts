import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { modelsCommand } from '../../src/cli/models-command';
import { ClipEngine } from '../../src/inference/clip/clip-engine';
import { resolveClipModel } from '../../src/inference/clip/clip-models';
import {
  type DownloadProgress,
  ModelDownloadError,
  clipDownloadRoot,
  clipDownloadSources,
  downloadClipModel,
  downloadFiles,
  parseSha256Sums,
  PUBLISHED_CLIP_FILES,
} from '../../src/inference/clip/model-download';
import { clipModelFileName } from '../../src/inference/clip/clip-model-files';
import { CLIP_MODELS } from '../../src/inference/clip/clip-models';
import { writeTestClipModel } from '../support/clip-model-gen';

const NAMES = ['vit-b-16.img.fp32.onnx', 'vit-b-16.txt.fp32.onnx', 'vocab.txt'];
const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** A loopback file server with Range support and switches for the failures a download meets. */
class FileServer {
  readonly files = new Map<string, Buffer>();
  readonly requests: { path: string; range?: string }[] = [];
  ignoreRange = false;
  /** Paths that get half their bytes, then a dropped connection. */
  readonly cutOff = new Set<string>();
  private server?: Server;
  port = 0;

  get base(): string {
    return `http://127.0.0.1:${this.port}/models/`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((done) => this.server!.listen(0, '127.0.0.1', done));
    this.port = (this.server!.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((done) => (this.server ? this.server.close(() => done()) : done()));
  }

  private handle(req: IncomingMessage, res: ServerResponse) {
    const path = decodeURIComponent(new URL(req.url!, 'http://x').pathname).replace('/models/', '');
    this.requests.push({ path, range: req.headers.range });
    const body = this.files.get(path);
    if (!body) return res.writeHead(404).end('not found');
    const range = this.ignoreRange ? undefined : /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    let start = 0;
    if (range) {
      start = Number(range[1]);
      if (start >= body.length) return res.writeHead(416, { 'Content-Range': `bytes */${body.length}` }).end();
      res.writeHead(206, {
        'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}`,
        'Content-Length': body.length - start,
      });
    } else {
      res.writeHead(200, { 'Content-Length': body.length });
    }
    const rest = body.subarray(start);
    if (this.cutOff.has(path)) {
      // Give the client time to store what it got before the connection drops.
      res.write(rest.subarray(0, rest.length >> 1), () => setTimeout(() => res.destroy(), 150));
      return;
    }
    res.end(rest);
  }
}

let work: string;
let server: FileServer;
let root: string;
const payload = (seed: number, size: number) => Buffer.from(Array.from({ length: size }, (_, i) => (i * seed) & 255));

/** Chinese-CLIP's vocab.txt, which every download is checked against, mirror or not. */
let vocab: Buffer;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'clip-download-'));
  vocab = await readFile(join(__dirname, 'fixtures', 'cn-clip-vocab.txt'));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

beforeEach(async () => {
  server = new FileServer();
  await server.start();
  NAMES.forEach((name, i) => server.files.set(name, payload(7 + i * 6, 60_000 + i * 1000)));
  server.files.set('vocab.txt', vocab);
  root = await mkdtemp(join(work, 'root-'));
});

afterEach(async () => {
  await server.stop();
});

const modelDir = () => join(root, 'ViT-B-16');

describe('downloadClipModel', () => {
  it('downloads every file into <root>/<Model>/, verifying SHA256SUMS, and leaves no .part behind', async () => {
    const sums = NAMES.map((name) => `${sha(server.files.get(name)!)}  ${name}`).join('\n');
    server.files.set('SHA256SUMS', Buffer.from(sums + '\n'));
    const events: string[] = [];
    const progress: DownloadProgress = {
      start: (name, total, have) => events.push(`start ${name} ${total} ${have}`),
      advance: () => undefined,
      finish: () => events.push('finish'),
    };

    const result = await downloadClipModel({ modelName: 'vit-b-16', root, from: server.base, progress });

    expect(result.dir).toBe(modelDir());
    expect(result.files.map((f) => [f.name, f.outcome, f.sha256])).toEqual(
      NAMES.map((name) => [name, 'downloaded', sha(server.files.get(name)!)]),
    );
    for (const name of NAMES) expect(await readFile(join(modelDir(), name))).toEqual(server.files.get(name));
    expect((await readdir(modelDir())).sort()).toEqual([...NAMES].sort());
    expect(events).toContain(`start vit-b-16.img.fp32.onnx ${server.files.get(NAMES[0])!.length} 0`);
    expect(events.filter((e) => e === 'finish').length).toBeGreaterThanOrEqual(3);
  });

  it('resumes from a partial .part with a Range request', async () => {
    await mkdir(modelDir(), { recursive: true });
    const whole = server.files.get(NAMES[0])!;
    await writeFile(join(modelDir(), `${NAMES[0]}.part`), whole.subarray(0, 25_000));

    const result = await downloadClipModel({ modelName: 'ViT-B-16', root, from: server.base });

    expect(result.files[0].outcome).toBe('resumed');
    expect(server.requests.find((r) => r.path === NAMES[0])?.range).toBe('bytes=25000-');
    expect(await readFile(join(modelDir(), NAMES[0]))).toEqual(whole);
    expect(existsSync(join(modelDir(), `${NAMES[0]}.part`))).toBe(false);
  });

  it('starts over when the server ignores the Range header', async () => {
    await mkdir(modelDir(), { recursive: true });
    const whole = server.files.get(NAMES[1])!;
    await writeFile(join(modelDir(), `${NAMES[1]}.part`), whole.subarray(0, 5_000));
    server.ignoreRange = true;

    await downloadClipModel({ modelName: 'ViT-B-16', root, from: server.base });
    expect(await readFile(join(modelDir(), NAMES[1]))).toEqual(whole);
  });

  it('finishes a .part that is already whole (HTTP 416)', async () => {
    await mkdir(modelDir(), { recursive: true });
    const whole = server.files.get(NAMES[2])!;
    await writeFile(join(modelDir(), `${NAMES[2]}.part`), whole);

    await downloadClipModel({ modelName: 'ViT-B-16', root, from: server.base });
    expect(await readFile(join(modelDir(), NAMES[2]))).toEqual(whole);
  });

  it('keeps the .part after a dropped connection and resumes on the next run', async () => {
    server.cutOff.add(NAMES[0]);
    const first = await downloadClipModel({ modelName: 'ViT-B-16', root, from: server.base }).catch((e) => e);
    expect(first).toBeInstanceOf(ModelDownloadError);
    expect(first).toMatchObject({ kind: 'interrupted' });
    expect(first.message).toMatch(/run the same command again to resume/);
    expect(existsSync(join(modelDir(), NAMES[0]))).toBe(false);
    expect((await stat(join(modelDir(), `${NAMES[0]}.part`))).size).toBe(server.files.get(NAMES[0])!.length >> 1);

    server.cutOff.clear();
    const second = await downloadClipModel({ modelName: 'ViT-B-16', root, from: server.base });
    expect(second.files[0].outcome).toBe('resumed');
    expect(await readFile(join(modelDir(), NAMES[0]))).toEqual(server.files.get(NAMES[0]));
  });

  it('deletes the download and keeps no final file on a sha256 mismatch', async () => {
    const wrong = 'a'.repeat(64);
    const error = await downloadClipModel({
      modelName: 'ViT-B-16',
      root,
      from: server.base,
      sha256: { [NAMES[0]]: wrong },
    }).catch((e) => e);
    expect(error).toMatchObject({ name: 'ModelDownloadError', kind: 'checksum' });
    expect(error.message).toContain(`expected ${wrong}, got ${sha(server.files.get(NAMES[0])!)}`);
    expect(existsSync(join(modelDir(), NAMES[0]))).toBe(false);
    expect(existsSync(join(modelDir(), `${NAMES[0]}.part`))).toBe(false);
  });

  it('checks files against a SHA256SUMS at the base', async () => {
    server.files.set('SHA256SUMS', Buffer.from(`${'0'.repeat(64)} *${NAMES[0]}\n`));
    await expect(downloadClipModel({ modelName: 'ViT-B-16', root, from: server.base })).rejects.toMatchObject({
      kind: 'checksum',
    });
  });

  it('keeps files that are already there and re-fetches one whose checksum is wrong', async () => {
    await downloadClipModel({ modelName: 'ViT-B-16', root, from: server.base });
    await writeFile(join(modelDir(), NAMES[1]), 'damaged');
    server.requests.length = 0;

    const result = await downloadClipModel({
      modelName: 'ViT-B-16',
      root,
      from: server.base,
      sha256: { [NAMES[1]]: sha(server.files.get(NAMES[1])!) },
    });
    expect(result.files.map((f) => f.outcome)).toEqual(['present', 'downloaded', 'present']);
    expect(server.requests.map((r) => r.path)).toEqual(['SHA256SUMS', NAMES[1]]);
    expect(await readFile(join(modelDir(), NAMES[1]))).toEqual(server.files.get(NAMES[1]));
  });

  it('says which host is unreachable and which files to put where by hand', async () => {
    await server.stop();
    const error = await downloadClipModel({ modelName: 'ViT-B-16', root, from: server.base }).catch((e) => e);
    expect(error).toMatchObject({ name: 'ModelDownloadError', kind: 'unreachable' });
    expect(error.message).toContain(`could not reach 127.0.0.1:${server.port} (ECONNREFUSED)`);
    expect(error.message).toContain(`put these files in ${modelDir()}`);
    for (const name of NAMES) {
      const line = error.message.split('\n').find((l: string) => l.trim().startsWith(`${name} `));
      expect(line).toMatch(new RegExp(` from ${server.base}${name}$`.replace(/\./g, '\\.')));
    }
  });

  it('reports an HTTP error with the status', async () => {
    server.files.delete(NAMES[1]);
    await expect(downloadClipModel({ modelName: 'ViT-B-16', root, from: server.base })).rejects.toThrow(
      /vit-b-16\.txt\.fp32\.onnx: .* answered HTTP 404/,
    );
  });

  it('refuses a file of another size than the pinned one before reading it, saying what to do', async () => {
    const body = server.files.get(NAMES[0])!;
    const source = { name: NAMES[0], url: `${server.base}${NAMES[0]}`, sha256: sha(body), bytes: body.length + 1 };
    const error = await downloadFiles(modelDir(), [source]).catch((e) => e);
    expect(error).toMatchObject({ name: 'ModelDownloadError', kind: 'size' });
    expect(error.message).toContain(`offers ${body.length} bytes where ${body.length + 1} are pinned`);
    expect(error.message).toContain('Run the same command again');
    expect(error.message).toContain('do not use it');
    expect(await readdir(modelDir())).toEqual([]);
  });

  it('refuses a file of the pinned size whose sha256 differs, and deletes it', async () => {
    const body = server.files.get(NAMES[0])!;
    const source = { name: NAMES[0], url: `${server.base}${NAMES[0]}`, sha256: 'c'.repeat(64), bytes: body.length };
    const error = await downloadFiles(modelDir(), [source]).catch((e) => e);
    expect(error).toMatchObject({ kind: 'checksum' });
    expect(error.message).toContain('do not use it');
    expect(await readdir(modelDir())).toEqual([]);
  });

  it('fetches again a file already in place whose size is not the pinned one', async () => {
    const body = server.files.get(NAMES[0])!;
    await mkdir(modelDir(), { recursive: true });
    await writeFile(join(modelDir(), NAMES[0]), body.subarray(1));
    const source = { name: NAMES[0], url: `${server.base}${NAMES[0]}`, bytes: body.length };
    const [file] = await downloadFiles(modelDir(), [source]);
    expect(file).toMatchObject({ outcome: 'downloaded', bytes: body.length, sha256: sha(body) });
    expect(file.expectedSha256).toBeUndefined();
  });

  it("checks a mirror's vocab.txt against Chinese-CLIP's, which every size uses", async () => {
    server.files.set('vocab.txt', Buffer.concat([vocab, Buffer.from('[extra]\n')]));
    await expect(downloadClipModel({ modelName: 'ViT-B-16', root, from: server.base })).rejects.toMatchObject({
      kind: 'size',
    });
  });

  it('produces a folder the engine loads', async () => {
    const source = await mkdtemp(join(work, 'source-'));
    const dir = await writeTestClipModel(source);
    // The generated model has a small vocabulary of its own, so its files go through unpinned.
    for (const name of NAMES) server.files.set(name, await readFile(join(dir, name)));
    await downloadFiles(
      modelDir(),
      NAMES.map((name) => ({ name, url: `${server.base}${name}` })),
    );
    const clip = await ClipEngine.open({ root, modelName: 'ViT-B-16', threads: 1 });
    try {
      expect(await clip.checkInstalled('image')).toMatchObject({ installed: true });
      expect(await clip.encodeText('红色')).toHaveLength(512);
    } finally {
      await clip.close();
    }
  });
});

describe('download sources', () => {
  it('uses <base>/<prefix>.img.fp32.onnx, .txt.fp32.onnx and vocab.txt with --from', () => {
    const sources = clipDownloadSources(resolveClipModel('ViT-L-14-336'), 'https://mirror.example/cn-clip');
    expect(sources.map((s) => s.url)).toEqual([
      'https://mirror.example/cn-clip/vit-l-14-336.img.fp32.onnx',
      'https://mirror.example/cn-clip/vit-l-14-336.txt.fp32.onnx',
      'https://mirror.example/cn-clip/vocab.txt',
    ]);
  });

  it('defaults ViT-B-16 to the published export and the pinned Chinese-CLIP vocab.txt', () => {
    const sources = clipDownloadSources(resolveClipModel('ViT-B-16'));
    expect(sources.map((s) => s.name)).toEqual(NAMES);
    expect(sources[0].url).toBe(
      'https://github.com/MT-Photos/mt-photos-ai/releases/download/v1.1.0/vit-b-16.img.fp32.onnx',
    );
    expect(sources[2].url).toMatch(/^https:\/\/raw\.githubusercontent\.com\/OFA-Sys\/Chinese-CLIP\/[0-9a-f]{40}\//);
    expect(sources[2].sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('matches the pinned vocab checksum and size against the vocab.txt in the fixtures', () => {
    const [, , pinned] = clipDownloadSources(resolveClipModel('ViT-B-16'));
    expect([pinned.sha256, pinned.bytes]).toEqual([sha(vocab), vocab.length]);
  });

  it('publishes, for every model it offers, the files the engine loads, over https', () => {
    const offered = CLIP_MODELS.filter((m) => PUBLISHED_CLIP_FILES[m.name]);
    expect(offered.map((m) => m.name)).toEqual(['ViT-B-16']);
    for (const spec of offered) {
      const files = PUBLISHED_CLIP_FILES[spec.name]!;
      expect(files.map((f) => f.name)).toEqual([
        clipModelFileName(spec, 'image'),
        clipModelFileName(spec, 'text'),
        'vocab.txt',
      ]);
      for (const file of files) {
        expect(file.url).toMatch(/^https:\/\//);
        // A pin is a pair: a sha256 with no size (or the reverse) is a mistake.
        expect([file.name, file.sha256 === undefined, file.bytes === undefined]).toEqual([
          file.name,
          file.bytes === undefined,
          file.sha256 === undefined,
        ]);
      }
    }
  });

  it('docs/install.md says, per published file, exactly what is checked', async () => {
    const install = await readFile(join(__dirname, '..', '..', 'docs', 'install.md'), 'utf8');
    for (const files of Object.values(PUBLISHED_CLIP_FILES)) {
      for (const file of files!) {
        const row = install.split('\n').find((line) => line.startsWith(`| \`${file.name}\``));
        expect([file.name, row]).toEqual([file.name, expect.any(String)]);
        if (file.sha256) expect(row).toContain(file.sha256);
        if (file.bytes) expect(row).toContain(String(file.bytes));
        if (!file.sha256) expect(row).toContain('not verified');
      }
    }
  });

  it('explains how to get a size that has no published ONNX export', () => {
    expect(() => clipDownloadSources(resolveClipModel('RN50'))).toThrow(/pytorch_to_onnx\.py --model-arch RN50/);
  });

  it('reads CLIP_DOWNLOAD_ROOT, defaulting to ./models/clip', () => {
    expect(clipDownloadRoot({ CLIP_DOWNLOAD_ROOT: '/srv/clip' })).toBe('/srv/clip');
    expect(clipDownloadRoot({})).toBe('./models/clip');
  });

  it('parses sha256sum output', () => {
    const a = 'A'.repeat(64);
    const b = 'b'.repeat(64);
    expect(parseSha256Sums(`${a}  ./dir/one.onnx\n${b} *two.txt\r\nnot a line\n`)).toEqual({
      'one.onnx': a.toLowerCase(),
      'two.txt': b,
    });
  });
});

describe('immich-ai models download clip', () => {
  function program(out: string[], err: string[]): Command {
    const models = modelsCommand();
    const all = (command: Command): Command[] => [command, ...command.commands.flatMap(all)];
    // Errors throw instead of exiting the test process; output is captured.
    for (const command of all(models)) {
      command.exitOverride().configureOutput({ writeOut: (s) => out.push(s), writeErr: (s) => err.push(s) });
    }
    return new Command('immich-ai').exitOverride().addCommand(models);
  }

  it('downloads with --from and --root and prints where the files went', async () => {
    const out: string[] = [];
    const args = ['models', 'download', 'clip', 'vit-b-16', '--from', server.base, '--root', root, '--no-progress'];
    await program(out, []).parseAsync(args, { from: 'user' });
    expect(out.join('')).toContain(`cn-clip ViT-B-16 is ready in ${modelDir()}`);
    const lines = out.join('').split('\n');
    const line = (name: string) => lines.find((l) => l.includes(join(modelDir(), name)));
    // The ONNX files have no sha256 here (no SHA256SUMS, no --sha256): said, with the sha256 they had.
    expect(line(NAMES[0])).toMatch(/^downloaded /);
    expect(line(NAMES[0])).toContain(
      `not verified: no sha256 is published for it; its sha256 is ${sha(server.files.get(NAMES[0])!)}`,
    );
    expect(line('vocab.txt')).toContain(`(${vocab.length} bytes, sha256 ok)`);
  });

  it('passes --sha256 FILE=HEX through and fails with exit code 1 on a mismatch', async () => {
    const err: string[] = [];
    const args = ['models', 'download', 'clip', 'ViT-B-16', '--from', server.base, '--root', root, '--no-progress'];
    const error = await program([], err)
      .parseAsync([...args, '--sha256', `vocab.txt=${'f'.repeat(64)}`], { from: 'user' })
      .catch((e) => e);
    expect(error).toBeInstanceOf(CommanderError);
    expect(error.exitCode).toBe(1);
    expect(err.join('')).toMatch(/vocab\.txt: sha256 mismatch/);
  });

  it('refuses a malformed --sha256 and an unknown model', async () => {
    const err: string[] = [];
    const bad = program([], err).parseAsync(['models', 'download', 'clip', 'ViT-B-16', '--sha256', 'vocab.txt=xyz'], {
      from: 'user',
    });
    await expect(bad).rejects.toBeInstanceOf(CommanderError);
    expect(err.join('')).toMatch(/FILE=HEX/);

    const unknown = await program([], err)
      .parseAsync(['models', 'download', 'clip', 'ViT-B-32', '--root', root, '--no-progress'], { from: 'user' })
      .catch((e) => e);
    expect(unknown.exitCode).toBe(1);
    expect(err.join('')).toMatch(/unknown cn-clip model "ViT-B-32"; known models: ViT-B-16/);
  });
});
