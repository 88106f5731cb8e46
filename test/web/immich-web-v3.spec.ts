import { describeImmichWeb } from './support/immich-web-suite';

describeImmichWeb('3.1.0');
