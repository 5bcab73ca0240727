// Static checks for the node scripts parity added, as the synthesized manifests ship them.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { synthEnvironments } from '../../src';
import { toEnvironment } from '../../src/model';
import { findObject, K8sObject, parseManifest, REPO } from '../support/dist';
import { BUSYBOX } from '../support/netns';

const shipped = (doc: Record<string, unknown>, container: string): string =>
  findObject(parseManifest(synthEnvironments([{ environment: toEnvironment(doc) }])[0].yaml), 'DaemonSet', 'kube-flannel-ds')
    .spec.template.spec.initContainers.find((c: K8sObject) => c.name === container).args[0];
const base = { name: 's', flannel: { podNetwork: '10.42.0.0/16' }, clouds: [{ name: 'a', nicMtu: 1500 }] };

describe.each([
  ['net-conf-psk', () => shipped({ ...base, flannel: { ...base.flannel, backend: 'wireguard', psk: { secretName: 'p' } } }, 'net-conf-psk')],
  ['link-cni-plugins', () => shipped({ ...base, distribution: 'k3s' }, 'link-cni-plugins')],
])('%s: static checks', (name, script) => {
  test('the manifest ships the script in src/node/scripts', () => {
    expect(script()).toBe(fs.readFileSync(path.join(REPO, 'src', 'node', 'scripts', `${name}.sh`), 'utf8'));
  });
  test('busybox sh -n and shellcheck -s sh accept it; set -euf, no eval', () => {
    for (const argv of [[BUSYBOX, 'sh', '-n', '-c', script()], ['shellcheck', '-s', 'sh', '-']]) {
      const r = spawnSync(argv[0], argv.slice(1), { input: script(), encoding: 'utf8' });
      expect([argv[0], r.status, r.stdout, r.stderr]).toEqual([argv[0], 0, '', '']);
    }
    expect(script()).toMatch(/^set -euf$/m);
    expect(script()).not.toMatch(/\beval\b/);
  });
});
