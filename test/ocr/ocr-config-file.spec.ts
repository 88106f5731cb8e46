import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadInferenceConfig } from '../../src/config/inference.config';
import { loadOcrConfigFile } from '../../src/inference/ocr/ocr-config-file';
import { OcrEngine } from '../../src/inference/ocr/ocr-engine';
import { ocrFixture } from '../support/fixtures';

const dir = mkdtempSync(join(tmpdir(), 'ocr-settings-'));
const file = (name: string, body: string) => {
  const path = join(dir, name);
  writeFileSync(path, body);
  return path;
};

describe('OCR settings file', () => {
  it('reads overrides for any threshold', () => {
    const path = file('ok.json', '{"det": {"boxThresh": 0.6, "limitSideLen": 960}, "spaces": {"recover": false}}');
    expect(loadOcrConfigFile(path)).toEqual({ det: { boxThresh: 0.6, limitSideLen: 960 }, spaces: { recover: false } });
  });

  it.each([
    ['an unknown key', '{"det": {"boxTresh": 0.6}}', /unknown key det\.boxTresh/],
    ['a value out of range', '{"rec": {"textScoreMin": 3}}', /rec\.textScoreMin: .*less than or equal to 1/],
    ['broken JSON', '{"det": ', /OCR settings file .*JSON/],
  ])('refuses %s with a message naming it', (_name, body, message) => {
    expect(() => loadOcrConfigFile(file('bad.json', body))).toThrow(message);
  });

  it('is checked when the inference service starts (OCR_SETTINGS)', () => {
    expect(() => loadInferenceConfig({ OCR_SETTINGS: file('svc.json', '{"cls": {"thresh": "high"}}') })).toThrow(
      /OCR_SETTINGS=.*cls\.thresh/,
    );
    const config = loadInferenceConfig({ OCR_SETTINGS: file('svc-ok.json', '{"cls": {"enabled": false}}') });
    expect(config.ocrSettings).toEqual({ cls: { enabled: false } });
  });

  it('changes what the engine reads: without the angle classifier the upside-down line is garbled', async () => {
    const engine = await OcrEngine.open({
      config: loadOcrConfigFile(file('nocls.json', '{"cls": {"enabled": false}}')),
    });
    const lines = (await engine.read(ocrFixture('f05'))).lines.map((l) => l.text);
    await engine.close();
    expect(lines.join(' ')).not.toContain('倒置的一行');
  });
});
