import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { characterErrorRate, withoutSpaces } from './cer';

/**
 * The "whole library" photo sets (test/fixtures/library-tuning/, library-heldout/): real photographs
 * with no text and photos with text, each listed in the set's manifest.json. The tuning set is where
 * the text gate's settings were chosen; the held-out set only judges them.
 */
export type LibrarySetName = 'tuning' | 'heldout';

export interface LibraryManifestEntry {
  /** Relative to the set's folder (text photos of the older OCR sets are referenced, not copied). */
  file: string;
  text: boolean;
  /** Every line of text in the photo, as drawn. Empty for a text-free photo. */
  lines: string[];
  /** Font size of each line in pixels of the photo, where known (the older sets: 44-73 px, not listed). */
  linePx?: number[];
  /** Font size in pixels of the photo of its smallest line (text-free photos: absent). */
  minTextPx?: number;
  /** Where the photo (or the photo under the text) comes from, and what was drawn. */
  source: string;
}

export interface LibraryPhoto extends LibraryManifestEntry {
  name: string;
  buf: Buffer;
}

/** test/fixtures, from test/support (jest) or from dist-bench/test/support (the compiled benchmark). */
export const LIBRARY_FIXTURE_DIR = [
  join(__dirname, '..', 'fixtures'),
  join(__dirname, '..', '..', '..', 'test', 'fixtures'),
].find((dir) => existsSync(join(dir, 'library-heldout')))!;

export function libraryManifest(set: LibrarySetName): LibraryManifestEntry[] {
  const path = join(LIBRARY_FIXTURE_DIR, `library-${set}`, 'manifest.json');
  return (JSON.parse(readFileSync(path, 'utf8')) as { photos: LibraryManifestEntry[] }).photos;
}

export function loadLibrarySet(set: LibrarySetName): LibraryPhoto[] {
  return libraryManifest(set).map((entry) => ({
    ...entry,
    name: entry.file.replace(/^.*\//, '').replace(/\.jpg$/, ''),
    buf: readFileSync(join(LIBRARY_FIXTURE_DIR, `library-${set}`, entry.file)),
  }));
}

/** A line counts as found at this character error rate or below (spaces ignored). */
export const FOUND_CER = 0.2;

/**
 * Whether a line of truth was read: some output line, or two neighbours in reading order (the
 * detector sometimes splits a line at a wide gap), matches it with at most FOUND_CER character
 * errors, spaces ignored.
 */
export function lineFound(truth: string, output: string[], maxCer = FOUND_CER): boolean {
  const want = withoutSpaces(truth);
  const candidates = output.map(withoutSpaces);
  for (let i = 0; i < candidates.length; i++) {
    if (characterErrorRate(want, candidates[i]) <= maxCer) return true;
    if (i + 1 < candidates.length && characterErrorRate(want, candidates[i] + candidates[i + 1]) <= maxCer) return true;
  }
  return false;
}
