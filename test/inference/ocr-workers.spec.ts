import { parseServerTiming } from '../support/server-timing';
import { ocrFixture } from '../support/fixtures';
import { immichEntries, immichForm, predict, startApp, type RunningApp } from './helpers';

// The service with OCR_WORKERS=2: the same answers as in the main thread, and /ping stays quick
// while OCR runs (the compiled worker comes from dist/, which npm test builds first).
describe('inference service with OCR on worker threads', () => {
  let app: RunningApp;
  beforeAll(async () => {
    app = await startApp({ tasks: ['ocr'], ocrWorkers: 2, threads: 1 });
  });
  afterAll(() => app.close());

  it('answers concurrent OCR requests and keeps answering /ping while the models run', async () => {
    const names = ['f01', 'f03', 'f07', 'f08'];
    let pongs = 0;
    let running = true;
    const pings = (async () => {
      while (running) {
        expect(await (await fetch(new URL('/ping', app.url))).text()).toBe('pong');
        if (running) pongs++;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const runs: number[] = [];
    const answers = await Promise.all(
      names.map(async (name) => {
        const res = await predict(app.url, immichForm(immichEntries.ocr(), { image: ocrFixture(name) }));
        expect(res.status).toBe(200);
        runs.push(parseServerTiming(res.headers.get('server-timing')).ocr);
        return ((await res.json()) as { ocr: { text: string[] } }).ocr.text;
      }),
    );
    running = false;
    await pings;
    expect(answers[0]).toEqual(['今天天气很好', 'Hello World 2024', '上海市浦东新区']);
    expect(answers[1]).toContain('面包 Bread 6.50');
    expect(answers[2]).toContain('Action items for the team');
    expect(answers[3]).toContain('West Lake Hangzhou');
    expect(runs.every((ms) => ms > 0)).toBe(true);
    expect(runs).toHaveLength(4);
    // Immich's health checks keep their answers while the models run (how long a ping waits is a
    // benchmark figure, bench/ocr-event-loop.ts; a timing bound here would flip on a busy machine).
    expect(pongs).toBeGreaterThanOrEqual(3);
  });

  it('answers 503 naming the variable, not the path, when the OCR models are missing', async () => {
    const broken = await startApp({ tasks: ['ocr'], ocrWorkers: 2, ocrModelDir: '/nonexistent/ocr-models' });
    try {
      const res = await predict(broken.url, immichForm(immichEntries.ocr(), { image: ocrFixture('f01') }));
      expect(res.status).toBe(503);
      const { error } = (await res.json()) as { error: string };
      expect(error).toBe('the OCR model folder (OCR_MODEL_DIR) does not exist');
    } finally {
      await broken.close();
    }
  });
});
