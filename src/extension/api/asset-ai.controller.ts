import {
  Body,
  Controller,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  ParseUUIDPipe,
  Post,
  StreamableFile,
  UseGuards,
} from '@nestjs/common';
import { ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { ExtensionAuthGuard } from '../auth/extension-auth.guard';
import { AssetAiService } from '../assets/asset-ai.service';
import { Auth, AuthContext, RequireAuth } from '../auth/auth.types';
import { BulkReprocessDto, ReprocessDto } from './dto';

@ApiTags('assets')
@ApiSecurity('api_key')
@UseGuards(ExtensionAuthGuard)
@Controller('api/assets')
export class AssetAiController {
  constructor(private readonly assets: AssetAiService) {}

  @Get(':id/ocr')
  @RequireAuth({ permission: 'asset.read' })
  @ApiOperation({ summary: "An asset's OCR: status, last error, and its lines with boxes (0..1 of the preview)" })
  getOcr(@Auth() auth: AuthContext, @Param('id', new ParseUUIDPipe()) id: string) {
    return this.assets.getOcr(auth, id);
  }

  @Get(':id/preview')
  @RequireAuth({ permission: 'asset.read' })
  @ApiOperation({ summary: "The preview Immich made of one of your assets (the search page's thumbnails)" })
  async preview(@Auth() auth: AuthContext, @Param('id', new ParseUUIDPipe()) id: string) {
    const { handle, size, contentType } = await this.assets.getPreview(auth, id);
    return new StreamableFile(handle.createReadStream(), { type: contentType, length: size });
  }

  @Post('reprocess')
  @HttpCode(HttpStatus.ACCEPTED)
  @RequireAuth({ permission: 'asset.update' })
  @ApiOperation({ summary: 'Regenerate OCR and/or CLIP for several of your assets' })
  reprocessMany(@Auth() auth: AuthContext, @Body() dto: BulkReprocessDto) {
    return this.regenerate(auth, dto.assetIds, dto);
  }

  @Post(':id/reprocess')
  @HttpCode(HttpStatus.ACCEPTED)
  @RequireAuth({ permission: 'asset.update' })
  @ApiOperation({ summary: 'Regenerate OCR and/or CLIP for one of your assets; answers with the job ids' })
  reprocess(@Auth() auth: AuthContext, @Param('id', new ParseUUIDPipe()) id: string, @Body() dto: ReprocessDto) {
    return this.regenerate(auth, [id], dto);
  }

  private async regenerate(auth: AuthContext, assetIds: string[], dto: ReprocessDto) {
    const jobs = await this.assets.regenerate(auth, assetIds, { ocr: dto.ocr, clip: dto.clip });
    return { jobs };
  }
}
