import { describeImmichWeb } from './support/immich-web-suite';

describeImmichWeb('2.4.1');
