import { Command, InvalidArgumentError } from 'commander';
import { CLIP_MODELS, UnknownClipModelError } from '../inference/clip/clip-models';
import {
  DEFAULT_CLIP_DOWNLOAD_ROOT,
  ModelDownloadError,
  clipDownloadRoot,
  downloadClipModel,
  terminalProgress,
} from '../inference/clip/model-download';

/**
 * `immich-ai models download clip <name> [--from URL] [--root DIR] [--sha256 FILE=HEX]`.
 * The inference service never downloads on its own (a service that fetches 700 MB at start-up is
 * hard to run offline and to reason about); this command is the one way weights get onto a machine.
 */
export function modelsCommand(): Command {
  const models = new Command('models').description('Download model files for the inference service');
  const download = models.command('download').description('Download a model into its models folder');

  download
    .command('clip')
    .description('Download a Chinese-CLIP (cn-clip) ONNX export: image model, text model and vocab.txt')
    .argument('<name>', `model size: ${CLIP_MODELS.map((m) => m.name).join(', ')}`)
    .option(
      '--from <url>',
      'base URL holding <name>.img.fp32.onnx, <name>.txt.fp32.onnx and vocab.txt (and, if it has one, SHA256SUMS); ' +
        'default: the published ViT-B-16 export',
    )
    .option('--root <dir>', `models folder (default: $CLIP_DOWNLOAD_ROOT or ${DEFAULT_CLIP_DOWNLOAD_ROOT})`)
    .option('--sha256 <file=hex>', 'expected sha256 of one file, repeatable', collectChecksum, {})
    .option('--no-progress', 'no progress bar')
    .action(async (name: string, options: DownloadClipFlags, command: Command) => {
      const output = command.configureOutput();
      const write = (text: string) => (output.writeOut ? output.writeOut(text) : process.stdout.write(text));
      try {
        const result = await downloadClipModel({
          modelName: name,
          root: options.root ?? clipDownloadRoot(),
          from: options.from,
          sha256: options.sha256,
          progress: options.progress ? terminalProgress() : undefined,
        });
        for (const file of result.files) {
          const check = file.expectedSha256
            ? 'sha256 ok'
            : `not verified: no sha256 is published for it; its sha256 is ${file.sha256}`;
          write(`${file.outcome.padEnd(10)} ${file.path} (${file.bytes} bytes, ${check})\n`);
        }
        write(`cn-clip ${result.modelName} is ready in ${result.dir}\n`);
      } catch (error) {
        if (error instanceof ModelDownloadError || error instanceof UnknownClipModelError) {
          command.error(`error: ${error.message}`, { exitCode: 1, code: `immich-ai.models.${error.name}` });
        }
        throw error;
      }
    });

  return models;
}

interface DownloadClipFlags {
  from?: string;
  root?: string;
  sha256: Record<string, string>;
  progress: boolean;
}

function collectChecksum(value: string, previous: Record<string, string>): Record<string, string> {
  const match = /^([^=]+)=([0-9a-fA-F]{64})$/.exec(value.trim());
  if (!match) throw new InvalidArgumentError('expected FILE=HEX with a 64-digit sha256');
  return { ...previous, [match[1]]: match[2].toLowerCase() };
}
