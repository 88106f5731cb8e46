import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUUID,
  Max,
  MaxLength,
  Min,
  ValidateBy,
} from 'class-validator';
import { MAX_QUERY_LENGTH } from '../search/query-parser';
import { decodeCursor } from '../search/result-windows';

/** Request shapes of the extension's API, validated before a controller sees them (400 otherwise). */

export class SearchQueryDto {
  @ApiProperty({
    description:
      'Search text. `ocr:` (any case, also `ocr：`) searches text in photos only; otherwise OCR and CLIP are fused. "quoted phrases", -exclusions and OR work.',
    maxLength: MAX_QUERY_LENGTH,
    example: 'ocr: 发票',
  })
  @IsString()
  @MaxLength(MAX_QUERY_LENGTH)
  q!: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 1000, default: 1 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  page: number = 1;

  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 20 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  size: number = 20;

  @ApiPropertyOptional({
    description: "`ocr:` searches: an earlier answer's `nextCursor`, to go on from there (instead of `page`)",
    maxLength: 1000,
  })
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  @ValidateBy({
    name: 'isSearchCursor',
    validator: {
      validate: (value: unknown) => typeof value === 'string' && decodeCursor(value) !== null,
      defaultMessage: () => 'cursor must be the nextCursor of an earlier answer',
    },
  })
  cursor?: string;
}

export class ReprocessDto {
  @ApiPropertyOptional({ description: 'Read the text in the photo again', default: true })
  @IsOptional()
  @IsBoolean()
  ocr: boolean = true;

  @ApiPropertyOptional({ description: "Embed the photo with CLIP again (Immich's smart_search row)", default: false })
  @IsOptional()
  @IsBoolean()
  clip: boolean = false;
}

export class BulkReprocessDto extends ReprocessDto {
  @ApiProperty({ type: [String], format: 'uuid', minItems: 1, maxItems: 1000 })
  @ArrayMinSize(1)
  @ArrayMaxSize(1000)
  @IsUUID('all', { each: true })
  assetIds!: string[];
}

export class QueueOcrDto {
  @ApiProperty({
    enum: ['missing', 'failed', 'all'],
    description: 'missing: assets without OCR; failed: also those whose last try failed; all: read every photo again',
  })
  @IsIn(['missing', 'failed', 'all'])
  scope!: 'missing' | 'failed' | 'all';
}
