import { renderMermaid } from '../../src/report';
import { DUAL, JUMBO, JUMBO_UNIFORM, SCENARIOS, SEED, side } from './scenarios';

const plan = (text: string) => side(text, 'env.yaml').plan!;

describe('renderMermaid', () => {
  test('the seed: two clouds, the SD-WAN at 1380, which binds, in red', () => {
    expect(renderMermaid(plan(SEED))).toBe(
      [
        'flowchart LR',
        '    c0_cloud_a["cloud-a<br/>NIC 1400"]',
        '    c1_cloud_b["cloud-b<br/>NIC 1400"]',
        '    c0_cloud_a ---|"sdwan: 1380"| c1_cloud_b',
        '    linkStyle 0 stroke:#d00,stroke-width:3px',
        '',
      ].join('\n'),
    );
  });

  test('dual-stack: links carry the IPv6 path MTU too', () => {
    expect(renderMermaid(plan(DUAL))).toContain('    c0_cloud_a ---|"sdwan: 1380 (IPv6 1420)"| c1_cloud_b\n');
  });

  test('a binding cloud gets a node style; the other links stay plain; default link names (with ~) are quoted', () => {
    const text = renderMermaid(plan(SCENARIOS.find((s) => s.name === 'new-cloud-binds')!.new));
    expect(text).toContain('    c0_cloud_a ---|"cloud-a~cloud-c: 1300"| c2_cloud_c\n');
    expect(text.endsWith('    style c2_cloud_c stroke:#d00,stroke-width:3px\n')).toBe(true);
    expect(text).not.toContain('linkStyle');
  });

  test('a fabric smaller than the NIC is shown; the third link binds', () => {
    // cloud-b's fabric 1390 (room 1340) does not bind; the SD-WAN (room 1330) still does.
    const text = renderMermaid(plan(SEED.replace('name: cloud-b\n    nicMtu: 1400', 'name: cloud-b\n    nicMtu: 1400\n    fabricMtu: 1390')));
    expect(text).toContain('    c1_cloud_b["cloud-b<br/>NIC 1400, fabric 1390"]\n');
  });

  test('names become safe ids and quoted labels (Mermaid keywords, quotes, #, <, >, &)', () => {
    const p = plan(SEED);
    const odd = { ...p, clouds: [{ ...p.clouds[0], name: 'end' }, { ...p.clouds[1], name: 'a"b<c>&#' }], paths: p.paths.map((x) => (x.kind === 'link' ? { ...x, from: 'end', to: 'a"b<c>&#', name: 'x"y' } : x)) };
    const text = renderMermaid({ ...odd, binding: { ...p.binding, name: 'x"y' } });
    expect(text).toContain('    c0_end["end<br/>NIC 1400"]\n');
    expect(text).toContain('    c1_a_b_c___["a#34;b#60;c#62;#38;#35;<br/>NIC 1400"]\n');
    expect(text).toContain('    c0_end ---|"x#34;y: 1380"| c1_a_b_c___\n');
  });

  test('per-path: each cloud with its own pod MTU, each link with its overlay MTU; the smallest path in red', () => {
    // aws 9001 - 50 = 8951, onprem 1500 - 50 = 1450; sdwan 1380 - 50 = 1330 (derivations in scenarios.ts).
    expect(renderMermaid(plan(JUMBO))).toBe(
      [
        'flowchart LR',
        '    c0_aws["aws<br/>NIC 9001<br/>pod MTU 8951"]',
        '    c1_onprem["onprem<br/>NIC 1500<br/>pod MTU 1450"]',
        '    c0_aws ---|"sdwan: 1380, overlay 1330"| c1_onprem',
        '    linkStyle 0 stroke:#d00,stroke-width:3px',
        '',
      ].join('\n'),
    );
    // Uniform mode draws no per-cloud pod MTU (every pod has the cluster's).
    expect(renderMermaid(plan(JUMBO_UNIFORM))).not.toContain('pod MTU');
  });
});
