import { describeSidecarOnImmich } from './support/sidecar-on-immich-suite';

/** The previous major, still supported: see support/sidecar-on-immich-suite.ts. */
describeSidecarOnImmich('2.4.1');
