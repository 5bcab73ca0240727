import { diffPlans, diffReport, DIFF_COMMENT_MARKER, renderDiffMarkdown, renderExplainMarkdown } from '../../src/report';
import { expectGolden, JUMBO, SCENARIOS, SEED, side } from './scenarios';

describe('renderDiffMarkdown', () => {
  // Goldens in golden/<scenario>.md; every number in them is derived by hand in scenarios.ts.
  test.each(SCENARIOS.map((s) => [s.name, s]))('%s: Markdown golden', (name, s) => {
    const file = s.file ?? 'seed-dev.yaml';
    const d = diffPlans(side(s.old, `main:environments/${file}`), side(s.new, `environments/${file}`));
    expectGolden(`${name}.md`, renderDiffMarkdown(diffReport('main', [d])));
  });

  test('starts with the marker CI finds its own comment by; unchanged environments appear in the summary only', () => {
    const lower = SCENARIOS.find((s) => s.name === 'lower-link')!;
    const md = renderDiffMarkdown(
      diffReport('main', [diffPlans(side(SEED, 'a'), side(SEED, 'a')), diffPlans(side(lower.old, 'b'), side(lower.new, 'b'))].map((d, i) => (i === 0 ? { ...d, environment: 'other' } : d))),
    );
    expect(md.startsWith(`${DIFF_COMMENT_MARKER}\n`)).toBe(true);
    expect(md).toContain('Compared with `main`: 1 of 2 environments changed.');
    expect(md).toContain('| `other` | no change | 1330 | 1380 | 1290 |');
    expect(md).toContain('| `seed-dev` | pod MTU lowered | 1330 -> 1310 | 1380 -> 1360 | 1290 -> 1270 |');
    expect(md.match(/^### /gm)).toHaveLength(1);
  });

  test('a new environment: every number from nothing, the DaemonSet created', () => {
    const md = renderDiffMarkdown(diffReport(null, [diffPlans(side(null, 'main:environments/seed-dev.yaml'), side(SEED, 'environments/seed-dev.yaml'))]));
    expect(md).toContain('| `seed-dev` | new environment | - -> 1330 | - -> 1380 | - -> 1290 |');
    expect(md).toContain('`main:environments/seed-dev.yaml` (absent) -> `environments/seed-dev.yaml`');
    expect(md).toContain('- the flannel DaemonSet `kube-flannel-ds` is created');
    expect(md).toContain('the `apply-node-mtu` init container sets `cni0` to 1330, `flannel.1` to 1330');
  });
});

describe('renderExplainMarkdown', () => {
  test('the seed: heading, diagram and the plan reasoning', () => {
    expect(renderExplainMarkdown(side(SEED, 'seed-dev.yaml').plan!)).toBe(
      [
        '### `seed-dev`: pod MTU 1330 (vxlan, IPv4)',
        '',
        '```mermaid',
        'flowchart LR',
        '    c0_cloud_a["cloud-a<br/>NIC 1400"]',
        '    c1_cloud_b["cloud-b<br/>NIC 1400"]',
        '    c0_cloud_a ---|"sdwan: 1380"| c1_cloud_b',
        '    linkStyle 0 stroke:#d00,stroke-width:3px',
        '```',
        '',
        '- underlay IPv4 MTU 1380: the smallest of 2 cloud NIC/fabric MTUs and 1 link path MTUs',
        '- binding constraint: link sdwan path MTU (IPv4) at 1380; vxlan costs 50 bytes over IPv4, so pods get 1380 - 50 = 1330',
        '- Backend.MTU 1380 = 1330 + 50: flannel subtracts 50 from it for vxlan, whatever the family',
        '- MSS 1290 = 1330 - 40 (IPv4 + TCP headers)',
        '- pods get tcp_mtu_probing=1 (CNI tuning plugin): after repeated timeouts of full-size segments TCP probes from tcp_base_mss 1024 (kernel default) instead of hanging',
        '',
      ].join('\n'),
    );
  });

  test('per-path: the heading names every cloud\'s pod MTU and every link\'s overlay MTU', () => {
    expect(renderExplainMarkdown(side(JUMBO, 'jumbo-per-path.yaml').plan!).split('\n')[0]).toBe(
      '### `jumbo-per-path`: per-path, pod MTU aws 8951, onprem 1450; overlay MTU sdwan 1330 (vxlan, IPv4)',
    );
  });
});
