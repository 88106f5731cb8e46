import { ensureTemplateDatabase } from './immich-database';

/** Once per jest run: the template database with Immich v2.4.1's schema (see immich-database.ts). */
export default async function globalSetup(): Promise<void> {
  await ensureTemplateDatabase();
}
