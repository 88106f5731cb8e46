import { gatewayConfig, gatewayRoute } from '../../src/config/gateway.config';
import { RoutingTable } from '../../src/gateway/routing-table';

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
