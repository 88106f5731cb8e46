import { describeImmichChecks } from './support/patched-immich-checks';

describeImmichChecks('3.1.0', [
  'src/services/search.service.spec.ts',
  'src/services/asset.service.spec.ts',
  'src/services/server.service.spec.ts',
]);
