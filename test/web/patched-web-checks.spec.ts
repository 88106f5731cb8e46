import { describeWebChecks } from './support/patched-web-checks';

describeWebChecks('2.4.1', ['src/lib/utils.spec.ts', 'src/lib/components/asset-viewer/asset-viewer-nav-bar.spec.ts']);
