/**
 * Renders the OCR photo sets that test how spacing survives re-encoding (test/ocr/ocr-stability.spec.ts):
 *
 *   npm run fixtures:ocr
 *
 * - test/fixtures/ocr-tuning/: the photos the spacing rules were tuned on, with the 8 fixtures;
 * - test/fixtures/ocr-heldout/: photos of other texts, fonts and layouts, never used for tuning: the
 *   rules are judged on them.
 *
 * Text is drawn with librsvg (through sharp) in fonts Debian ships (fonts-wqy-microhei,
 * fonts-wqy-zenhei, fonts-dejavu-core) onto a tinted, noisy background, then saved as JPEG at
 * 1440x1080 like an Immich preview. The output is committed: tests never render, so a clone needs
 * neither the fonts nor this script. The pseudo-random layout is seeded, so a rerun with the same
 * fonts gives the same photos.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { renderLibrarySets } from './library-photos';

interface Photo {
  name: string;
  lines: string[];
}

const TUNING: Photo[] = [
  { name: 't01', lines: ['report_final_v2.pdf', '会议纪要 2024-05-06', 'to do list'] },
  { name: 't02', lines: ['www.example.com/photos', '上传日期 2023/11/08', 'it is fine'] },
  { name: 't03', lines: ['user_name@mail.com', '联系人 张伟', 'fix the bug'] },
  { name: 't04', lines: ['Total 128.50', '找零 1.50', 'in the box'] },
  { name: 't05', lines: ['IMG_2048.JPG', '北京市朝阳区', 'tiny little font'] },
  { name: 't06', lines: ['A-12 gate', '登机口 B-7', 'of it at to'] },
  { name: 't07', lines: ['共3人 第12页', '用USB充电', 'on to it'] },
  { name: 't08', lines: ['iPhone手机壳', '5G网络 A座3楼', 'fit to a tee'] },
];

const HELDOUT: Photo[] = [
  { name: 'h01', lines: ['backup_2022_12_31.zip', '文件名 照片备份', 'at home today'] },
  { name: 'h02', lines: ['docs.immich.app/install', '下载 安装 指南', 'fit for it'] },
  { name: 'h03', lines: ['Room 3-205', '会议室 三楼', 'to be or not to be'] },
  { name: 'h04', lines: ['price 9.99/kg', '苹果 每斤 5.80', 'fresh fruit stall'] },
  { name: 'h05', lines: ['tel 010-8888-6666', '营业时间 09:00-21:00', 'open till late'] },
  { name: 'h06', lines: ['my_cat_photo.png', '宠物 相册', 'tilt the tin'] },
  { name: 'h07', lines: ['ticket no. A-0042', '检票口 7', 'it is time'] },
  { name: 'h08', lines: ['src/main/index.ts', '代码 仓库', 'first fix'] },
  { name: 'h09', lines: ['共8张照片', '支持WiFi连接', 'lit the oil'] },
  { name: 'h10', lines: ['第2章 总结', 'B1层 停车场', 'title_page-01.txt'] },
];

const FONTS = ['WenQuanYi Micro Hei', 'WenQuanYi Zen Hei', 'DejaVu Sans', 'DejaVu Serif'];

/** Deterministic pseudo-random numbers (a 31-bit LCG), so reruns give the same photos. */
function random(seed: number): () => number {
  let state = seed;
  return () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

async function render(photo: Photo, seed: number): Promise<Buffer> {
  const next = random(seed);
  const width = 1440;
  const height = 1080;
  // Latin-only lines go in a Latin font half the time; CJK lines need a CJK font.
  const fontFor = (line: string) =>
    /[\u4e00-\u9fff]/.test(line) || next() < 0.5 ? FONTS[Math.floor(next() * 2)] : FONTS[2 + Math.floor(next() * 2)];
  const background = `rgb(${200 + Math.floor(next() * 50)},${195 + Math.floor(next() * 50)},${180 + Math.floor(next() * 60)})`;
  let y = 180 + next() * 80;
  const texts = photo.lines.map((line) => {
    const size = 44 + Math.floor(next() * 30);
    const x = 100 + next() * 200;
    const shade = Math.floor(next() * 60);
    const element =
      `<text x="${x.toFixed(0)}" y="${y.toFixed(0)}" font-family="${fontFor(line)}" font-size="${size}" ` +
      `fill="rgb(${shade},${shade},${shade + 10})">${escapeXml(line)}</text>`;
    y += size * (2.2 + next());
    return element;
  });
  const svg = Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
      `<rect width="100%" height="100%" fill="${background}"/>${texts.join('')}</svg>`,
  );
  // Sensor-like noise: a grey noise layer blended over the render, then a slight blur.
  const noise = Buffer.alloc(width * height);
  for (let i = 0; i < noise.length; i++) noise[i] = 128 + Math.round((next() - 0.5) * 40);
  const noiseLayer = await sharp(noise, { raw: { width, height, channels: 1 } })
    .toColourspace('srgb')
    .png()
    .toBuffer();
  return sharp(svg)
    .composite([{ input: noiseLayer, blend: 'soft-light' }])
    .blur(0.6)
    .jpeg({ quality: 90 })
    .toBuffer();
}

async function renderSet(dir: string, photos: Photo[], seed: number): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const truth: Record<string, string[]> = {};
  for (const [index, photo] of photos.entries()) {
    writeFileSync(join(dir, `${photo.name}.jpg`), await render(photo, seed + index * 7919));
    truth[photo.name] = photo.lines;
  }
  writeFileSync(join(dir, 'truth.json'), JSON.stringify(truth, null, 2) + '\n');
}

async function main(): Promise<void> {
  const root = join(__dirname, '..', '..', '..', 'test', 'fixtures');
  const only = process.argv[2];
  if (only !== 'library') {
    await renderSet(join(root, 'ocr-tuning'), TUNING, 11);
    await renderSet(join(root, 'ocr-heldout'), HELDOUT, 23);
    process.stdout.write(`rendered ${TUNING.length} tuning and ${HELDOUT.length} held-out photos into ${root}\n`);
  }
  if (only !== 'ocr') {
    const counts = await renderLibrarySets(root);
    process.stdout.write(`rendered ${counts.join(' + ')} library text photos into ${root}/library-{tuning,heldout}\n`);
  }
}

if (require.main === module) void main();
