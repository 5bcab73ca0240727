import { App } from 'cdk8s';
import * as api from '../src';

test('the library API: a typed Environment -> plan -> chart, without YAML', () => {
  const environment = api.toEnvironment({
    name: 'lib',
    flannel: { podNetwork: '10.244.0.0/16' },
    clouds: [{ name: 'a', nicMtu: 1500 }, { name: 'b', nicMtu: 1500 }],
    links: [{ between: ['a', 'b'], mtu: 1500, overhead: 60 }],
  });
  // 1500 - 60 = 1440 path; vxlan 50 -> pods 1390; Backend.MTU 1440.
  expect(api.planMtu(environment)).toMatchObject({ underlayMtu: 1440, podMtu: 1390, backendMtu: 1440, mss: 1350 });
  const chart = new api.FlannelChart(new App({ outdir: '/nonexistent' }), 'lib', { environment });
  expect(api.validateObjects(chart.toJson())).toEqual([]);
});
