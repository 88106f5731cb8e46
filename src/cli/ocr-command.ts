import { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { ImageInputError } from '../shared/image/decode';
import { loadOcrConfigFile } from '../inference/ocr/ocr-config-file';
import { OcrEngine } from '../inference/ocr/ocr-engine';
import type { OcrOutput } from '../inference/ocr/ocr-types';
import { describeError } from './errors';

interface OcrCommandOptions {
  json?: boolean;
  device?: 'cpu' | 'cuda';
  modelDir?: string;
  settings?: string;
}

/** `immich-ai ocr [--json] FILE...`: models load once, then one result per file, bad files reported and skipped. */
export function ocrCommand(): Command {
  return new Command('ocr')
    .description('read the text in photos (Chinese + English) and print it in reading order')
    .argument('<files...>', 'image files (JPEG, PNG, WebP, TIFF, HEIF/AVIF, GIF)')
    .option('--json', 'one JSON object per line: file, width, height, ms, lines[{text, score, boxScore, box}]')
    .option('--device <device>', 'cpu or cuda (default: $DEVICE or cpu)', process.env.DEVICE || 'cpu')
    .option('--model-dir <dir>', 'OCR model directory (default: $OCR_MODEL_DIR or the bundled PP-OCRv4 models)')
    .option(
      '--settings <file>',
      'JSON file overriding OCR thresholds (default: $OCR_SETTINGS; keys as in ocr-config.ts)',
    )
    .action(async (files: string[], options: OcrCommandOptions) => {
      const settings = options.settings || process.env.OCR_SETTINGS;
      const engine = await OcrEngine.open({
        modelDir: options.modelDir,
        device: options.device,
        config: settings ? loadOcrConfigFile(settings) : undefined,
      });
      let failures = 0;
      for (const file of files) {
        try {
          const result = await engine.read(await readImageFile(file));
          process.stdout.write(options.json ? toJsonLine(file, result) : toText(file, result, files.length > 1));
        } catch (error) {
          failures++;
          const message = describeError(error);
          if (options.json) process.stdout.write(JSON.stringify({ file, error: message }) + '\n');
          else process.stderr.write(`immich-ai ocr: ${file}: ${message}\n`);
        }
      }
      await engine.close();
      if (failures) {
        process.stderr.write(`immich-ai ocr: ${failures} of ${files.length} file(s) failed\n`);
        process.exitCode = 1;
      }
    });
}

async function readImageFile(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ImageInputError('undecodable', 'no such file');
    if (code === 'EISDIR') throw new ImageInputError('undecodable', 'is a directory');
    throw error;
  }
}

const round = (value: number, digits: number) => Number(value.toFixed(digits));

function toJsonLine(file: string, result: OcrOutput): string {
  return (
    JSON.stringify({
      file,
      width: result.width,
      height: result.height,
      ms: round(result.timings.totalMs, 1),
      lines: result.lines.map((line) => ({
        text: line.text,
        score: round(line.score, 4),
        boxScore: round(line.boxScore, 4),
        box: line.box,
      })),
    }) + '\n'
  );
}

function toText(file: string, result: OcrOutput, withHeader: boolean): string {
  const body = result.lines.map((line) => line.text + '\n').join('');
  return withHeader ? `==> ${file} <==\n${body}\n` : body;
}
