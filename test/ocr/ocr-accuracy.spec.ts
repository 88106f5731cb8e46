import { OcrEngine } from '../../src/inference/ocr/ocr-engine';
import { characterErrorRate, joinLines, withoutSpaces } from '../support/cer';
import { ocrFixture, ocrTruth } from '../support/fixtures';

describe('OCR accuracy on the rendered fixture photos', () => {
  let engine: OcrEngine;
  const results: Record<string, string> = {};

  beforeAll(async () => {
    engine = await OcrEngine.open();
    for (const name of Object.keys(ocrTruth)) {
      results[name] = joinLines((await engine.read(ocrFixture(name))).lines.map((l) => l.text));
    }
  });
  afterAll(() => engine.close());

  const corpusCer = (normalise: (s: string) => string) => {
    let errors = 0;
    let length = 0;
    for (const [name, lines] of Object.entries(ocrTruth)) {
      const reference = normalise(joinLines(lines));
      errors += characterErrorRate(reference, normalise(results[name])) * [...reference].length;
      length += [...reference].length;
    }
    return errors / length;
  };

  it('reads the fixtures with at most 1% character errors, spaces ignored', () => {
    expect(corpusCer(withoutSpaces)).toBeLessThanOrEqual(0.01);
  });

  it('keeps the spaces a reader sees: at most 4% character errors counting spaces', () => {
    expect(corpusCer((s) => s)).toBeLessThanOrEqual(0.04);
  });

  it('puts back spaces between Latin words and where Chinese meets Latin or digits', () => {
    expect(results.f07).toContain('Action items for the team');
    expect(results.f03).toContain('面包 Bread 6.50');
    expect(results.f03).toContain('矿泉水 2.00');
    expect(results.f06).toContain('订单编号 20240506123');
  });

  it('puts back spaces between Chinese words where the model saw one', () => {
    expect(results.f02).toContain('火锅店 营业中');
    expect(results.f02).toContain('地址 成都市锦江区春熙路');
    expect(results.f08).toContain('杭州西湖 断桥残雪');
    expect(results.f01).toContain('上海市浦东新区'); // and nowhere else
  });

  it('reads the upside-down line', () => {
    expect(results.f05).toContain('倒置的一行 Upside');
  });

  it('reads rotated text and small text', () => {
    expect(withoutSpaces(results.f04)).toBe(withoutSpaces(joinLines(ocrTruth.f04)));
    expect(withoutSpaces(results.f06)).toBe(withoutSpaces(joinLines(ocrTruth.f06)));
  });
});
