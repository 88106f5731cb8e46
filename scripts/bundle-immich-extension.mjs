// Bundles the extension for Immich's server (dist/immich/extension.cjs): our compiled code (tsc already
// emitted the decorator metadata Nest needs) and zod inlined; everything Immich's server already has
// stays an external require, so it resolves to Immich's own copies (one Nest, one Kysely, one BullMQ).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'immich');
mkdirSync(out, { recursive: true });
// The migrations travel inside the bundle: there is no migrations folder beside it in Immich.
const migrations = readdirSync(join(root, 'dist', 'migrations'))
  .filter((file) => /^\d{4}-[\w-]+\.js$/.test(file))
  .sort()
  .map((file) => `  ${JSON.stringify(file.replace(/\.js$/, ''))}: require('../migrations/${file}'),`);
const entry = [
  "require('../extension/database/migrator').setBundledMigrations({",
  ...migrations,
  '});',
  "module.exports = require('../extension/immich/index');",
].join('\n');
await build({
  stdin: { contents: entry, resolveDir: out, sourcefile: 'immich-entry.js', loader: 'js' },
  outfile: join(out, 'extension.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  logLevel: 'warning',
  legalComments: 'inline',
  // What the servers of every supported Immich release depend on (server/package.json); @node-rs/jieba
  // is optional at run time. class-validator and class-transformer are inlined: v3 has neither (zod
  // DTOs), and our REST DTOs, which use them, load with the module even where no route is served.
  external: [
    '@nestjs/*',
    'bullmq',
    'kysely',
    'reflect-metadata',
    'rxjs',
    'pg',
    'ioredis',
    '@node-rs/jieba',
    '@node-rs/jieba/*',
  ],
});
copyFileSync(join(root, 'src', 'extension', 'immich', 'immich-api.d.cts'), join(out, 'extension.d.cts'));
