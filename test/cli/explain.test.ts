import { spawnSync } from 'child_process';
import * as path from 'path';
import { REPO } from '../support/dist';

const CLI = path.join(REPO, 'bin', 'flannel-mtu');
const cli = (...args: string[]) => spawnSync(CLI, args, { cwd: REPO, encoding: 'utf8' });

describe('flannel-mtu explain', () => {
  test('prints the Mermaid diagram and the reasoning of the plan', () => {
    const r = cli('explain', 'test/fixtures/environments/seed-dev.yaml');
    expect(r).toMatchObject({ status: 0, stderr: '' });
    // The seed: the SD-WAN's 1380 binds (1380 - 50 = 1330 for pods), drawn as the one red edge.
    expect(r.stdout).toMatch(/^### `seed-dev`: pod MTU 1330 \(vxlan, IPv4\)\n\n```mermaid\nflowchart LR\n/);
    expect(r.stdout).toContain('    c0_cloud_a ---|"sdwan: 1380"| c1_cloud_b\n    linkStyle 0 stroke:#d00,stroke-width:3px\n```\n');
    expect(r.stdout).toContain('- binding constraint: link sdwan path MTU (IPv4) at 1380; vxlan costs 50 bytes over IPv4, so pods get 1380 - 50 = 1330\n');
  });

  test('fails on a missing file', () => {
    expect(cli('explain', 'environments/nope.yaml')).toMatchObject({ status: 1, stdout: '', stderr: 'error: environments/nope.yaml: cannot read the environment file: ENOENT\n' });
  });
});
