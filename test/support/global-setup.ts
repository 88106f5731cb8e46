import { ensureTemplateDatabase } from './immich-database';

/** Once per jest run: the template database with the schema of TEST_IMMICH_VERSION's Immich (see immich-database.ts). */
export default async function globalSetup(): Promise<void> {
  await ensureTemplateDatabase();
}
