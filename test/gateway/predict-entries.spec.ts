import { GatewayError } from '../../src/gateway/gateway-errors';
import { parseEntries } from '../../src/gateway/predict-entries';
import { RoutingTable } from '../../src/gateway/routing-table';
import { gatewayConfig, gatewayRoute } from '../../src/config/gateway.config';

describe('parseEntries', () => {
  it('accepts every shape Immich v2.4.1 sends', () => {
    const shapes = [
      { clip: { visual: { modelName: 'ViT-B-32__openai' } } },
      { clip: { textual: { modelName: 'ViT-B-32__openai', options: { language: 'zh-CN' } } } },
      {
        'facial-recognition': {
          detection: { modelName: 'buffalo_l', options: { minScore: 0.7 } },
          recognition: { modelName: 'buffalo_l' },
        },
      },
      {
        ocr: {
          detection: { modelName: 'PP-OCRv5_mobile', options: { minScore: 0.5, maxResolution: 736 } },
          recognition: { modelName: 'PP-OCRv5_mobile', options: { minScore: 0.8 } },
        },
      },
    ];
    for (const shape of shapes) expect(parseEntries(JSON.stringify(shape))).toEqual(shape);
  });

  it.each([
    [undefined, 'the "entries" field is missing'],
    ['nope', /not valid JSON/],
    ['[]', '"entries" must be a JSON object of tasks'],
    ['{}', '"entries" names no task'],
    ['{"clip":"visual"}', 'entries.clip must be an object of model types'],
    ['{"clip":{"visual":{"modelName":""}}}', 'entries.clip.visual needs a "modelName" string'],
    ['{"clip":{"visual":{"modelName":"m","options":[1]}}}', 'entries.clip.visual.options must be an object'],
  ])('refuses %p with 422', (raw, message) => {
    let error: unknown;
    try {
      parseEntries(raw);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).status).toBe(422);
    expect((error as GatewayError).message).toMatch(message);
  });
});

describe('RoutingTable.split', () => {
  it('groups a request’s tasks by route, in the order they came', () => {
    const table = new RoutingTable(
      gatewayConfig({
        routes: { inference: gatewayRoute(['http://i']), immich: gatewayRoute(['http://m']) },
        tasks: { clip: 'inference', ocr: 'inference', default: 'immich' },
      }),
    );
    const groups = table.split(['facial-recognition', 'clip', 'ocr']);
    expect(groups.map((group) => [group.route.name, group.tasks])).toEqual([
      ['immich', ['facial-recognition']],
      ['inference', ['clip', 'ocr']],
    ]);
  });
});
