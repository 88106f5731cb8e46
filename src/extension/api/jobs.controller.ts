import { Body, ConflictException, Controller, Get, HttpCode, HttpStatus, Post, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { ExtensionAuthGuard } from '../auth/extension-auth.guard';
import { Auth, AuthContext, RequireAuth } from '../auth/auth.types';
import { QueueService } from '../queue/queue.service';
import { QueueOcrDto } from './dto';

@ApiTags('jobs')
@ApiSecurity('api_key')
@UseGuards(ExtensionAuthGuard)
@Controller('api/jobs')
export class JobsController {
  constructor(private readonly queue: QueueService) {}

  @Get()
  @RequireAuth({ permission: 'asset.read' })
  @ApiOperation({ summary: 'Progress: jobs waiting, running and failed; OCR documents done and failed; recent errors' })
  status(@Auth() auth: AuthContext) {
    return this.queue.status(auth.user);
  }

  @Post('ocr')
  @HttpCode(HttpStatus.ACCEPTED)
  @RequireAuth({ permission: 'job.create', admin: true })
  @ApiOperation({ summary: 'Queue OCR for every asset that is missing it, failed, or all (admins)' })
  queueOcr(@Body() dto: QueueOcrDto) {
    if (!this.queue.startQueueOcr(dto.scope))
      throw new ConflictException('Queueing is already in progress; see GET /api/jobs');
    return { scope: dto.scope, started: true };
  }
}
