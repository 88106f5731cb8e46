import { Command, Option } from 'commander';
import type { InstallMode } from '../shared/immich-releases';
import { formatReport, runDoctor } from '../doctor/doctor';
import { extensionConfigOrExit, parsePositiveInteger } from './serve-common';

/**
 * `immich-ai doctor`: is this install working? One line per check (OK, WARN or FAIL with what to do),
 * then `OK` or the failed checks; exit code 1 when one failed. Reads the extension's variables
 * (Immich's database and Redis, INFERENCE_URL) and Immich's (IMMICH_MACHINE_LEARNING_URL).
 */
export function doctorCommand(): Command {
  return new Command('doctor')
    .description(
      "Check an install: Immich's database and ML settings, the ML URL and the gateway's upstreams, the " +
        'inference models, our migrations and queue. Prints OK or what is wrong',
    )
    .option('--ml-url <url>', 'the URL Immich sends ML requests to (default: the one Immich uses, from its settings)')
    .option(
      '--inference-url <url...>',
      "inference services to check (default: $INFERENCE_URL, else the gateway's inference route)",
    )
    .option('--timeout <ms>', 'how long one quick check may take', parsePositiveInteger, 5000)
    .addOption(
      new Option('--mode <mode>', 'how immich-ai runs: beside Immich, or patched into its server')
        .choices(['sidecar', 'patched'])
        .default('sidecar'),
    )
    .action(
      async (
        options: { mlUrl?: string; inferenceUrl?: string[]; timeout: number; mode: InstallMode },
        command: Command,
      ) => {
        const config = extensionConfigOrExit(command);
        const results = await runDoctor({
          config,
          mlUrl: options.mlUrl,
          inferenceUrls: options.inferenceUrl,
          timeoutMs: options.timeout,
          mode: options.mode,
        });
        process.stdout.write(formatReport(results));
        if (results.some((result) => result.status === 'fail')) process.exitCode = 1;
      },
    );
}
