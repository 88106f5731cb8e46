import { describeJobError } from '../../src/extension/queue/job-errors';

/** The failure text users see (GET /api/jobs, a document's error) names what went wrong, not where. */
describe('job failure reasons', () => {
  it.each([
    ['connect ECONNREFUSED 172.18.0.3:5432', 'connect ECONNREFUSED <address>'],
    ['getaddrinfo ENOTFOUND immich_postgres', 'getaddrinfo ENOTFOUND <address>'],
    ['Connection is closed. redis:6379 went away', 'Connection is closed. <address> went away'],
    ['read ECONNRESET [::1]:6379', 'read ECONNRESET <address>'],
    ['timeout talking to 10.0.0.7', 'timeout talking to <address>'],
    [
      'inference service answered 502 for ocr: upstream only#1 refused the connection',
      'inference service answered 502 for ocr: upstream only#1 refused the connection',
    ],
    ['the preview file is missing\n    at Object.<anonymous> (/app/dist/x.js:1:1)', 'the preview file is missing'],
  ])('%j reads %j', (message, reason) => {
    expect(describeJobError(new Error(message))).toBe(reason);
  });
});
