import { describeWebChecks } from './support/patched-web-checks';

describeWebChecks('3.1.0', [
  'src/lib/services/asset.service.spec.ts',
  'src/lib/components/asset-viewer/AssetViewerNavBar.spec.ts',
]);
