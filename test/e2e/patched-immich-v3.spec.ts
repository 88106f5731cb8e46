import { describePatchedImmich } from './support/patched-immich-suite';

/** The current major (Node 24, zod DTOs, the image editor): see support/patched-immich-suite.ts. */
describePatchedImmich('3.1.0');
