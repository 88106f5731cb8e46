import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { ExtensionAuthGuard } from '../auth/extension-auth.guard';
import { Auth, AuthContext, RequireAuth } from '../auth/auth.types';
import { SearchService } from '../search/search.service';
import { SearchQueryDto } from './dto';

@ApiTags('search')
@ApiSecurity('api_key')
@UseGuards(ExtensionAuthGuard)
@Controller('api/ocr')
export class SearchController {
  constructor(private readonly search: SearchService) {}

  @Get('search')
  @RequireAuth({ permission: 'asset.read' })
  @ApiOperation({ summary: 'Search your photos by the text in them (`ocr:`) or by text and meaning together' })
  searchAssets(@Auth() auth: AuthContext, @Query() dto: SearchQueryDto) {
    return this.search.search({
      query: dto.q,
      userIds: [auth.user.id],
      page: dto.page,
      size: dto.size,
      cursor: dto.cursor,
    });
  }
}
