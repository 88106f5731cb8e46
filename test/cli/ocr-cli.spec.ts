import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { hugePngHeader, truncated } from '../support/bad-images';
import { ocrFixture, ocrFixturePath } from '../support/fixtures';
import { realSetDir } from '../support/real-photos';

const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)('node', [CLI, ...args], { maxBuffer: 1 << 24 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('immich-ai CLI (built)', () => {
  beforeAll(() => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
  });

  it('lists its commands', async () => {
    const { code, stdout } = await run(['--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/ocr \[options\] <files\.\.\.>/);
  });

  it('prints one JSON object per file, reports bad files, keeps going, exits non-zero', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'immich-ai-cli-'));
    const bad = {
      empty: join(dir, 'empty.jpg'),
      text: join(dir, 'notes.jpg'),
      cut: join(dir, 'cut.jpg'),
      bomb: join(dir, 'bomb.png'),
    };
    writeFileSync(bad.empty, '');
    writeFileSync(bad.text, 'not an image');
    writeFileSync(bad.cut, truncated(ocrFixture('f03')));
    writeFileSync(bad.bomb, hugePngHeader());
    const files = [
      ocrFixturePath('f01'),
      join(dir, 'missing.jpg'),
      bad.empty,
      bad.text,
      bad.cut,
      bad.bomb,
      ocrFixturePath('f07'),
    ];
    const { code, stdout, stderr } = await run(['ocr', '--json', ...files]);
    expect(code).toBe(1);
    const rows = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(rows.map((r) => r.file)).toEqual(files);
    expect(rows[0]).toMatchObject({ width: 1440, height: 1080 });
    expect(rows[0].ms).toBeGreaterThan(0);
    expect(rows[0].lines.map((l: { text: string }) => l.text)).toEqual([
      '今天天气很好',
      'Hello World 2024',
      '上海市浦东新区',
    ]);
    expect(Object.keys(rows[0].lines[0]).sort()).toEqual(['box', 'boxScore', 'score', 'text']);
    expect(rows[0].lines[0].box).toHaveLength(8);
    expect(rows[1].error).toBe('no such file');
    expect(rows[2].error).toMatch(/empty/);
    expect(rows[3].error).toMatch(/not a photo format/);
    expect(rows[4].error).toMatch(/truncated/);
    expect(rows[5].error).toMatch(/30000x30000/);
    expect(rows[6].lines.map((l: { text: string }) => l.text)).toContain('Action items for the team');
    expect(stderr).toMatch(/5 of 7 file\(s\) failed/);
    expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('prints plain text in reading order without --json', async () => {
    const { code, stdout } = await run(['ocr', ocrFixturePath('f03')]);
    expect(code).toBe(0);
    expect(stdout.trim().split('\n')).toEqual(['便利店 收银小票', '矿泉水 2.00', '面包 Bread 6.50', '合计 8.50']);
  });

  it('reads a one-line strip whole and vertical columns right to left, as the services do', async () => {
    const dir = realSetDir('heldout');
    const { code, stdout } = await run(['ocr', join(dir, 'strip-line.png'), join(dir, 'vertical.png')]);
    expect(code).toBe(0);
    const [strip, vertical] = stdout
      .split(/==> .* <==\n/)
      .slice(1)
      .map((body) => body.replace(/ /g, '').trim().split('\n'));
    expect(strip).toEqual(['二〇二四年春季学期期末考试成绩查询']);
    expect(vertical).toEqual(['君不见黄河之水天上来', '奔流到海不复回', '君不见高堂明镜悲白发', '朝如青丝暮成雪']);
  });

  it('refuses a settings file with a wrong key before reading anything', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'immich-ai-cli-')), 'settings.json');
    writeFileSync(path, '{"det": {"boxTresh": 0.6}}');
    const { code, stdout, stderr } = await run(['ocr', '--settings', path, ocrFixturePath('f01')]);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/unknown key det\.boxTresh/);
  });

  it('stops quietly when the reader of its output goes away (| head)', async () => {
    const child = spawn('node', [CLI, 'ocr', ...['f01', 'f02', 'f03', 'f07'].map(ocrFixturePath)]);
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    await new Promise((resolve) => child.stdout.once('data', resolve));
    child.stdout.destroy();
    const code = await new Promise((resolve) => child.once('close', resolve));
    expect(code).toBe(0);
    expect(stderr).not.toMatch(/EPIPE|\n\s+at /);
  });
});
