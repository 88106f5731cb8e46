/**
 * The text photos of the "whole library" sets, rendered by `npm run fixtures:ocr -- library`, and
 * each set's manifest.json. The sets mix real photographs with no text (imported from Debian
 * packages by import-library-photos.ts) and photos with text:
 *
 * - text drawn onto the set's own photographs the way it appears in a personal library: a camera's
 *   date stamp, a caption, a watermark, a small sign or sticker, a label; most of it small (14-24 px
 *   font in a 1440 px preview), some medium or large, one line in a corner, one in low contrast;
 * - a photo that is all text (a page), a panorama (2880x720) with one small caption, a plain photo
 *   with a single tiny line;
 * - the older rendered sets (ocr-tuning with tuning, ocr-heldout with held-out), large text on a
 *   plain background, referenced from the manifest rather than copied.
 *
 * The tuning and held-out sets share no photograph, no background and no text. Rendering is
 * deterministic (fixed layouts, seeded noise); the output is committed, tests never render.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { TEXT_FREE_SOURCES } from './import-library-photos';
import type { LibraryManifestEntry, LibrarySetName } from './library-set';

interface TextItem {
  text: string;
  x: number;
  /** Baseline. */
  y: number;
  /** Font size in pixels of the output photo. */
  size: number;
  font?: string;
  fill?: string;
  /** Outline drawn around the glyphs (caption style). */
  stroke?: string;
  /** A plate of this colour behind the text (sign, sticker, label). */
  plate?: string;
  opacity?: number;
}

interface TextPhoto {
  name: string;
  /** A text-free photo of the same set, 'plain' (tinted noise) or 'page' (paper). */
  background: string;
  /** Output size; default the background's. A photo background is cover-cropped to it. */
  size?: [number, number];
  what: string;
  items: TextItem[];
}

const SANS = 'DejaVu Sans';
const SERIF = 'DejaVu Serif';
const CJK = 'WenQuanYi Micro Hei';

const pageLines = (lines: string[], x: number, y0: number, size: number, gap: number): TextItem[] =>
  lines.map((text, i) => ({ text, x, y: y0 + i * gap, size, font: /[\u4e00-\u9fff]/.test(text) ? CJK : SANS }));

const LIBRARY_TUNING: TextPhoto[] = [
  {
    name: 'lt01',
    background: 'aloeR.jpg',
    what: 'camera date stamp, bottom right, 20 px',
    items: [{ text: '2019/08/15 14:32', x: 1040, y: 1040, size: 20, fill: 'rgb(255,150,40)', font: SANS }],
  },
  {
    name: 'lt02',
    background: 'coffee.jpg',
    what: 'small sign on a white plate, top left, 22 px',
    items: [
      { text: '营业中 OPEN', x: 40, y: 70, size: 22, fill: 'rgb(160,20,20)', plate: 'rgb(245,245,240)', font: CJK },
    ],
  },
  {
    name: 'lt03',
    background: 'leuvenB.jpg',
    what: 'street sign on a plate in the middle of the photo, 18 px',
    items: [
      {
        text: 'Groot Begijnhof',
        x: 640,
        y: 520,
        size: 18,
        fill: 'rgb(20,30,60)',
        plate: 'rgb(230,230,220)',
        font: SANS,
      },
    ],
  },
  {
    name: 'lt04',
    background: 'aero3.jpg',
    what: 'watermark, bottom left, white at 80% opacity, 16 px',
    items: [{ text: 'Zhang Photography 2021', x: 30, y: 1050, size: 16, fill: 'white', opacity: 0.8, font: SANS }],
  },
  {
    name: 'lt05',
    background: 'butterfly.jpg',
    what: 'caption, top left, white with a dark outline, 18 px',
    items: [{ text: '蝴蝶 花园 2022', x: 36, y: 60, size: 18, fill: 'white', stroke: 'rgb(20,20,20)', font: CJK }],
  },
  {
    name: 'lt06',
    background: 'chicky.jpg',
    what: 'two medium caption lines at the bottom, 32 and 24 px',
    items: [
      { text: '小狗 豆豆', x: 60, y: 960, size: 32, fill: 'white', stroke: 'black', font: CJK },
      { text: 'Doudou, three years old', x: 60, y: 1010, size: 24, fill: 'white', stroke: 'black', font: SANS },
    ],
  },
  {
    name: 'lt07',
    background: 'page',
    what: 'a photo that is all text: a receipt, 14 lines of 30 px',
    items: pageLines(
      [
        '超市 购物小票',
        'No. 20230917-0815',
        '牛奶 1L 12.50',
        'Bread loaf 8.00',
        '鸡蛋 10个 15.80',
        'Apples 1.2kg 9.60',
        '酸奶 6.90',
        'Coffee beans 58.00',
        '大米 5kg 32.00',
        'Tissues x3 10.50',
        '合计 153.30',
        'Paid by card',
        '谢谢惠顾',
        'Thank you',
      ],
      120,
      110,
      30,
      68,
    ),
  },
  {
    name: 'lt08',
    background: 'aero1.jpg',
    size: [2880, 720],
    what: 'panorama 2880x720 with a small caption at the right end, 20 px',
    items: [{ text: 'Panorama 2021-10-01', x: 2560, y: 690, size: 20, fill: 'white', stroke: 'black', font: SANS }],
  },
  {
    name: 'lt09',
    background: 'fruits.jpg',
    what: 'large text across the photo, 72 px',
    items: [{ text: 'FRESH 水果', x: 260, y: 560, size: 72, fill: 'white', stroke: 'black', font: CJK }],
  },
  {
    name: 'lt10',
    background: 'plain',
    what: 'one tiny line on a plain background, 15 px',
    items: [{ text: 'see you at 8pm', x: 620, y: 540, size: 15, fill: 'rgb(40,40,50)', font: SANS }],
  },
  {
    name: 'lt11',
    background: 'camera.jpg',
    what: 'small label on the tripod leg, dark on light plate, 16 px',
    items: [{ text: 'LOT 42', x: 760, y: 800, size: 16, fill: 'black', plate: 'rgb(240,240,240)', font: SANS }],
  },
  {
    name: 'lt12',
    background: 'grass.jpg',
    what: 'medium text on a busy texture, white with a dark outline, 40 px',
    items: [
      {
        text: 'keep off the grass 请勿践踏',
        x: 200,
        y: 540,
        size: 40,
        fill: 'white',
        stroke: 'rgb(30,30,30)',
        font: CJK,
      },
    ],
  },
  {
    name: 'lt13',
    background: 'apple.jpg',
    what: 'medium price label, 30 px',
    items: [
      {
        text: '红富士 Fuji 6.80',
        x: 80,
        y: 140,
        size: 30,
        fill: 'rgb(20,20,20)',
        plate: 'rgb(250,245,230)',
        font: CJK,
      },
    ],
  },
  {
    name: 'lt14',
    background: 'leuvenA.jpg',
    what: 'medium sign on a wall, 34 px',
    items: [{ text: 'Begijnhof 1305', x: 820, y: 420, size: 34, fill: 'white', plate: 'rgb(30,60,110)', font: SERIF }],
  },
  {
    name: 'lt15',
    background: 'brick.jpg',
    what: 'medium white text on bricks, 28 px',
    items: [{ text: 'EXIT 出口', x: 420, y: 600, size: 28, fill: 'white', font: CJK }],
  },
];

const LIBRARY_HELDOUT: TextPhoto[] = [
  {
    name: 'lh01',
    background: 'orange.jpg',
    what: 'camera date stamp, bottom right, 18 px',
    items: [{ text: '2018-03-02 09:15', x: 860, y: 1050, size: 18, fill: 'rgb(255,210,40)', font: SANS }],
  },
  {
    name: 'lh02',
    background: 'building.jpg',
    what: 'small plaque by the entrance, white on dark, 20 px',
    items: [{ text: 'Hotel Concorde', x: 1150, y: 700, size: 20, fill: 'white', plate: 'rgb(40,40,45)', font: SERIF }],
  },
  {
    name: 'lh03',
    background: 'home.jpg',
    what: 'caption, bottom left, white with a dark outline, 20 px',
    items: [{ text: '迈索尔宫 2017', x: 40, y: 1040, size: 20, fill: 'white', stroke: 'rgb(30,30,30)', font: CJK }],
  },
  {
    name: 'lh04',
    background: 'squirrel.jpg',
    what: 'watermark, bottom right, white at 80% opacity, 16 px',
    items: [{ text: 'wildlife_cam_07', x: 1150, y: 1050, size: 16, fill: 'white', opacity: 0.8, font: SANS }],
  },
  {
    name: 'lh05',
    background: 'desk.jpg',
    what: 'price sticker on the desk, 22 px',
    items: [
      { text: '打火机 2元', x: 900, y: 700, size: 22, fill: 'rgb(200,0,0)', plate: 'rgb(250,250,250)', font: CJK },
    ],
  },
  {
    name: 'lh06',
    background: 'notebook.jpg',
    what: 'notebook label, 36 and 28 px',
    items: [
      { text: 'NOTES 2023', x: 300, y: 400, size: 36, fill: 'rgb(230,230,220)', font: SANS },
      { text: '笔记本 第三册', x: 300, y: 460, size: 28, fill: 'rgb(230,230,220)', font: CJK },
    ],
  },
  {
    name: 'lh07',
    background: 'page',
    what: 'a photo that is all text: a notice, 12 lines of 28 px',
    items: pageLines(
      [
        '小区 停水通知',
        'Water supply notice',
        '时间 6月12日 9:00-17:00',
        'Date June 12, 9am to 5pm',
        '原因 管道维修',
        'Reason pipe repairs',
        '请提前储水',
        'Please store water in advance',
        '物业服务中心',
        'Property office',
        '电话 0571-8765-4321',
        'Room 101, Block C',
      ],
      140,
      120,
      28,
      74,
    ),
  },
  {
    name: 'lh08',
    background: 'home.jpg',
    size: [2880, 720],
    what: 'panorama 2880x720 with a small caption at the left end, 20 px',
    items: [{ text: 'Palace at dusk', x: 40, y: 690, size: 20, fill: 'white', stroke: 'black', font: SANS }],
  },
  {
    name: 'lh09',
    background: 'hubble.jpg',
    what: 'caption on a dark sky, bottom left, 16 px',
    items: [{ text: 'Hubble Deep Field', x: 30, y: 1050, size: 16, fill: 'rgb(230,230,230)', font: SANS }],
  },
  {
    name: 'lh10',
    background: 'plain',
    what: 'one small line in the top left corner, 16 px',
    items: [{ text: 'IMG_0042.JPG', x: 6, y: 20, size: 16, fill: 'rgb(30,30,30)', font: SANS }],
  },
  {
    name: 'lh11',
    background: 'chelsea.jpg',
    what: 'large text, 80 px',
    items: [{ text: '猫 CAT', x: 520, y: 300, size: 80, fill: 'white', stroke: 'black', font: CJK }],
  },
  {
    name: 'lh12',
    background: 'gravel.jpg',
    what: 'medium text on a busy texture, dark grey, 26 px',
    items: [{ text: 'gravel path 碎石路', x: 240, y: 520, size: 26, fill: 'rgb(40,40,40)', font: CJK }],
  },
  {
    name: 'lh13',
    background: 'ihc.jpg',
    what: 'medium slide label, 30 px',
    items: [{ text: 'sample 7 HE 40x', x: 120, y: 980, size: 30, fill: 'black', plate: 'white', font: SANS }],
  },
  {
    name: 'lh14',
    background: 'baboon.jpg',
    what: 'medium caption on fur, white with a dark outline, 34 px',
    items: [{ text: '动物园 Zoo 2016', x: 300, y: 1000, size: 34, fill: 'white', stroke: 'black', font: CJK }],
  },
];

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Width of a line in pixels, near enough for a plate behind it. */
const approxWidth = (text: string, size: number) =>
  [...text].reduce((w, c) => w + (/[\u4e00-\u9fff]/.test(c) ? size : size * 0.62), 0);

function overlay(width: number, height: number, items: TextItem[]): Buffer {
  const parts = items.map((item) => {
    const font = item.font ?? SANS;
    const plate = item.plate
      ? `<rect x="${item.x - item.size * 0.4}" y="${item.y - item.size * 1.1}" width="${approxWidth(item.text, item.size) + item.size * 0.8}" height="${item.size * 1.5}" rx="3" fill="${item.plate}"/>`
      : '';
    const stroke = item.stroke ? ` stroke="${item.stroke}" stroke-width="${(item.size / 24).toFixed(2)}"` : '';
    const opacity = item.opacity !== undefined ? ` fill-opacity="${item.opacity}"` : '';
    return (
      `${plate}<text x="${item.x}" y="${item.y}" font-family="${font}" font-size="${item.size}" ` +
      `fill="${item.fill ?? 'black'}"${stroke}${opacity}>${escapeXml(item.text)}</text>`
    );
  });
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${parts.join('')}</svg>`,
  );
}

/** Deterministic noise (a 31-bit LCG) for the plain and page backgrounds. */
async function plainBackground(width: number, height: number, tint: string, seed: number): Promise<Buffer> {
  let state = seed;
  const noise = Buffer.alloc(width * height);
  for (let i = 0; i < noise.length; i++) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    noise[i] = 128 + Math.round((state / 2 ** 31 - 0.5) * 40);
  }
  const layer = await sharp(noise, { raw: { width, height, channels: 1 } })
    .toColourspace('srgb')
    .png()
    .toBuffer();
  return sharp({ create: { width, height, channels: 3, background: tint } })
    .composite([{ input: layer, blend: 'soft-light' }])
    .png()
    .toBuffer();
}

async function renderPhoto(dir: string, photo: TextPhoto, seed: number): Promise<Buffer> {
  let base: Buffer;
  let [width, height] = photo.size ?? [1440, 1080];
  if (photo.background === 'plain' || photo.background === 'page') {
    const tint = photo.background === 'page' ? 'rgb(236,232,222)' : 'rgb(205,200,190)';
    base = await plainBackground(width, height, tint, seed);
  } else {
    const source = readFileSync(join(dir, photo.background));
    if (!photo.size) {
      const meta = await sharp(source).metadata();
      [width, height] = [meta.width ?? width, meta.height ?? height];
    }
    base = await sharp(source).resize(width, height, { fit: 'cover' }).png().toBuffer();
  }
  return sharp(base)
    .composite([{ input: overlay(width, height, photo.items) }])
    .blur(photo.background === 'plain' || photo.background === 'page' ? 0.6 : 0.4)
    .jpeg({ quality: 85, mozjpeg: true })
    .toBuffer();
}

const SOURCES: Record<string, string> = Object.fromEntries(
  TEXT_FREE_SOURCES.map(([, name, source]) => [
    `${name}.jpg`,
    source.includes('opencv-doc')
      ? `Debian opencv-doc 4.6.0+dfsg-12, /usr/share/doc/opencv-doc/examples/data/${source.split('/').pop()}`
      : `Debian python3-skimage 0.19.3-8, skimage/data/${source.split('/').pop()}`,
  ]),
);

/** The older rendered sets, whose photos join the library sets as large-text photos. */
function olderSet(root: string, folder: string): LibraryManifestEntry[] {
  const truth = JSON.parse(readFileSync(join(root, folder, 'truth.json'), 'utf8')) as Record<string, string[]>;
  return Object.entries(truth).map(([name, lines]) => ({
    file: `../${folder}/${name}.jpg`,
    text: true,
    lines,
    minTextPx: 44,
    source: `rendered by render-ocr-photos.ts: ${lines.length} lines of 44-73 px on a plain background`,
  }));
}

async function renderLibrarySet(root: string, set: LibrarySetName, photos: TextPhoto[], seed: number) {
  const dir = join(root, `library-${set}`);
  const entries: LibraryManifestEntry[] = TEXT_FREE_SOURCES.filter(([s]) => s === set).map(([, name]) => ({
    file: `${name}.jpg`,
    text: false,
    lines: [],
    source: SOURCES[`${name}.jpg`],
  }));
  for (const [index, photo] of photos.entries()) {
    writeFileSync(join(dir, `${photo.name}.jpg`), await renderPhoto(dir, photo, seed + index * 7919));
    const onto = SOURCES[photo.background] ? `${photo.background} (${SOURCES[photo.background]})` : photo.background;
    entries.push({
      file: `${photo.name}.jpg`,
      text: true,
      lines: photo.items.map((item) => item.text),
      linePx: photo.items.map((item) => item.size),
      minTextPx: Math.min(...photo.items.map((item) => item.size)),
      source: `${photo.what}; drawn onto ${onto}`,
    });
  }
  entries.push(...olderSet(root, set === 'tuning' ? 'ocr-tuning' : 'ocr-heldout'));
  const manifest = {
    set,
    about:
      set === 'tuning'
        ? 'Tuning set: the text gate settings (ocr-config.ts gate) were chosen on these photos.'
        : 'Held-out set: never used to choose a setting; it judges the text gate (test/ocr/text-gate.spec.ts, npm run bench:ocr-library).',
    photos: entries,
  };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return photos.length;
}

export async function renderLibrarySets(root: string): Promise<number[]> {
  return [
    await renderLibrarySet(root, 'tuning', LIBRARY_TUNING, 101),
    await renderLibrarySet(root, 'heldout', LIBRARY_HELDOUT, 211),
  ];
}
