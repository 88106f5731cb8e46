/**
 * Imports the text-free photographs of the "whole library" sets (test/fixtures/library-tuning/ and
 * library-heldout/) from two Debian packages, extracted but not installed:
 *
 *   mkdir /tmp/debs && cd /tmp/debs && apt-get download opencv-doc python3-skimage
 *   for f in *.deb; do dpkg -x "$f" x; done
 *   npm run fixtures:library-import -- /tmp/debs/x
 *
 * Each photo was chosen by looking at it: real photographs with no text anywhere (no signs, labels,
 * logos, charts or drawings), at least 450 px wide. Near-duplicates (aloeL/aloeR, leuvenA/leuvenB,
 * aero1/aero3) stay in the same set. They are resized like an Immich preview (long side 1440, short
 * side at most 1080; smaller originals are enlarged, as a photo library's previews come from larger
 * originals) and saved as JPEG quality 80. The output is committed: tests never import. The licences
 * are in test/fixtures/library-photos/ (the packages' Debian copyright files, verbatim).
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';

const OPENCV = 'usr/share/doc/opencv-doc/examples/data';
const SKIMAGE = 'usr/lib/python3/dist-packages/skimage/data';

/** [set, output name, source inside the extracted packages] */
export const TEXT_FREE_SOURCES: Array<['tuning' | 'heldout', string, string]> = [
  ['tuning', 'camera', `${SKIMAGE}/camera.png`],
  ['tuning', 'coffee', `${SKIMAGE}/coffee.png`],
  ['tuning', 'brick', `${SKIMAGE}/brick.png`],
  ['tuning', 'grass', `${SKIMAGE}/grass.png`],
  ['tuning', 'aero1', `${OPENCV}/aero1.jpg`],
  ['tuning', 'aero3', `${OPENCV}/aero3.jpg`],
  ['tuning', 'aloeL', `${OPENCV}/aloeL.jpg`],
  ['tuning', 'aloeR', `${OPENCV}/aloeR.jpg`],
  ['tuning', 'apple', `${OPENCV}/apple.jpg`],
  ['tuning', 'butterfly', `${OPENCV}/butterfly.jpg`],
  ['tuning', 'chicky', `${OPENCV}/chicky_512.png`],
  ['tuning', 'fruits', `${OPENCV}/fruits.jpg`],
  ['tuning', 'leuvenA', `${OPENCV}/leuvenA.jpg`],
  ['tuning', 'leuvenB', `${OPENCV}/leuvenB.jpg`],
  ['heldout', 'chelsea', `${SKIMAGE}/chelsea.png`],
  ['heldout', 'hubble', `${SKIMAGE}/hubble_deep_field.jpg`],
  ['heldout', 'gravel', `${SKIMAGE}/gravel.png`],
  ['heldout', 'retina', `${SKIMAGE}/retina.jpg`],
  ['heldout', 'ihc', `${SKIMAGE}/ihc.png`],
  ['heldout', 'baboon', `${OPENCV}/baboon.jpg`],
  ['heldout', 'building', `${OPENCV}/building.jpg`],
  ['heldout', 'notebook', `${OPENCV}/ela_original.jpg`],
  ['heldout', 'home', `${OPENCV}/home.jpg`],
  ['heldout', 'orange', `${OPENCV}/orange.jpg`],
  ['heldout', 'lightbox', `${OPENCV}/pca_test1.jpg`],
  ['heldout', 'squirrel', `${OPENCV}/squirrel_cls.jpg`],
  ['heldout', 'desk', `${OPENCV}/stuff.jpg`],
];

/** Fits inside 1440x1080 (portrait: 1080x1440, square: 1080x1080), enlarging smaller photos. */
export async function asPreview(input: string | Buffer): Promise<Buffer> {
  const meta = await sharp(input).metadata();
  const [w, h] = [meta.width ?? 1, meta.height ?? 1];
  const [bw, bh] = w === h ? [1080, 1080] : w > h ? [1440, 1080] : [1080, 1440];
  return sharp(input)
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb')
    .resize(bw, bh, { fit: 'inside', kernel: 'lanczos3' })
    .jpeg({ quality: 80, mozjpeg: true })
    .toBuffer();
}

async function main(): Promise<void> {
  const from = process.argv[2];
  if (!from) throw new Error('usage: import-library-photos.js <folder the .debs were extracted into>');
  const root = join(__dirname, '..', '..', '..', 'test', 'fixtures');
  for (const [set, name, source] of TEXT_FREE_SOURCES) {
    const dir = join(root, `library-${set}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${name}.jpg`), await asPreview(join(from, source)));
  }
  const copyright = join(root, 'library-photos');
  mkdirSync(copyright, { recursive: true });
  copyFileSync(join(from, 'usr/share/doc/opencv-doc/copyright'), join(copyright, 'opencv-doc.copyright'));
  copyFileSync(join(from, 'usr/share/doc/python3-skimage/copyright'), join(copyright, 'python3-skimage.copyright'));
  process.stdout.write(`imported ${TEXT_FREE_SOURCES.length} photos into ${root}/library-{tuning,heldout}\n`);
}

if (require.main === module) void main();
