import { describePatchedImmich } from './support/patched-immich-suite';

/** The previous major, still supported: see support/patched-immich-suite.ts. */
describePatchedImmich('2.4.1');
