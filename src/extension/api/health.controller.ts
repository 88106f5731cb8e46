import { InjectQueue } from '@nestjs/bullmq';
import { Controller, Get, Inject, ServiceUnavailableException } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Queue } from 'bullmq';
import { Kysely, sql } from 'kysely';
import { EXTENSION_CONFIG, EXTENSION_DB, SEGMENTER } from '../database/database.tokens';
import { QUEUE_NAME } from '../queue/queue.constants';
import type { ExtensionConfig } from '../../config/extension.config';
import type { Segmenter } from '../search/segmenter';

/** Readiness of the sidecar: its database and Redis answer. No credentials needed, nothing private shown. */
@ApiTags('health')
@Controller('api/health')
export class HealthController {
  constructor(
    @Inject(EXTENSION_DB) private readonly db: Kysely<unknown>,
    @InjectQueue(QUEUE_NAME) private readonly queue: Queue,
    @Inject(SEGMENTER) private readonly segmenter: Segmenter,
    @Inject(EXTENSION_CONFIG) private readonly config: ExtensionConfig,
  ) {}

  @Get()
  @ApiOperation({ summary: '200 when the database and Redis answer, else 503 saying which does not' })
  async health() {
    const [database, redis] = await Promise.all([
      withTimeout(sql`SELECT 1`.execute(this.db)),
      withTimeout(this.queue.client.then((client) => (client as unknown as { ping(): Promise<string> }).ping())),
    ]);
    const status = { database: database ? 'ok' : 'unavailable', redis: redis ? 'ok' : 'unavailable' };
    if (!database || !redis) throw new ServiceUnavailableException(status);
    return { status: 'ok', ...status, segmenter: this.segmenter.name, worker: this.config.jobs.worker };
  }
}

async function withTimeout(promise: Promise<unknown>, ms = 2000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true).catch(() => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
