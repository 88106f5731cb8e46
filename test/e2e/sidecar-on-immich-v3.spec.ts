import { describeSidecarOnImmich } from './support/sidecar-on-immich-suite';

/** The current major, with v3's ML client and schema: see support/sidecar-on-immich-suite.ts. */
describeSidecarOnImmich('3.1.0');
