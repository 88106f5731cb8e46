import { describeImmichChecks } from './support/patched-immich-checks';

describeImmichChecks('2.4.1', [
  'src/services/search.service.spec.ts',
  'src/services/asset.service.spec.ts',
  'src/services/ocr.service.spec.ts',
  'src/services/server.service.spec.ts',
]);
