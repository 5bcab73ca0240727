// net-conf-psk (init container, wireguard psk): the script as synthesized, run with busybox sh on
// the ConfigMap's own net-conf.json and a key file standing in for the Secret volume.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { synthEnvironments } from '../../src';
import { toEnvironment } from '../../src/model';
import { findObject, K8sObject, parseManifest } from '../support/dist';
import { BUSYBOX, PREFIX } from '../support/netns';

const objects = parseManifest(synthEnvironments([{ environment: toEnvironment({
  name: 'wg',
  flannel: { backend: 'wireguard', podNetwork: '10.244.0.0/16', psk: { secretName: 'flannel-psk' } },
  clouds: [{ name: 'a', nicMtu: 1500 }],
}) }])[0].yaml);
const netConf: string = findObject(objects, 'ConfigMap', 'kube-flannel-cfg').data['net-conf.json'];
const container = findObject(objects, 'DaemonSet', 'kube-flannel-ds').spec.template.spec.initContainers.find((c: K8sObject) => c.name === 'net-conf-psk');
const KEY = 'cDlJbkRqc3Q3ZnB0Uk1hS2xpUm9GVjZHQmJ3dDhCeTA='; // 44 base64 characters, as `wg genpsk` prints

describe('net-conf-psk (script from the synthesized DaemonSet)', () => {
  let dir: string;
  const run = (key: string | null) => {
    fs.writeFileSync(path.join(dir, 'net-conf.json'), netConf);
    if (key !== null) fs.writeFileSync(path.join(dir, 'psk'), key);
    return spawnSync(BUSYBOX, ['sh', '-c', container.args[0]], {
      env: { PATH: '/usr/bin:/bin', NET_CONF: path.join(dir, 'net-conf.json'), PSK_FILE: path.join(dir, 'psk'), NET_CONF_OUT: path.join(dir, 'out.json') },
      encoding: 'utf8',
    });
  };
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), `${PREFIX}psk-`)); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('the container is what the test runs: no capabilities, the paths of its volumes', () => {
    expect(container.command).toEqual(['/bin/sh', '-c']);
    expect(container.securityContext.capabilities).toEqual({ drop: ['ALL'], add: [] });
    expect(Object.fromEntries(container.env.map((e: K8sObject) => [e.name, e.value]))).toEqual({
      NET_CONF: '/etc/kube-flannel/net-conf.json', PSK_FILE: '/run/flannel-mtu-psk/psk', NET_CONF_OUT: '/run/flannel-mtu/net-conf.json',
    });
  });

  test('writes the ConfigMap\'s net-conf.json with Backend.PSK, readable by root only', () => {
    const r = run(`${KEY}\n`);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(fs.readFileSync(path.join(dir, 'out.json'), 'utf8'));
    const expected = JSON.parse(netConf);
    expect(expected.Backend.PSK).toBeUndefined();
    expect(out).toEqual({ ...expected, Backend: { PSK: KEY, ...expected.Backend } });
    expect(fs.statSync(path.join(dir, 'out.json')).mode & 0o777).toBe(0o600);
  });

  test.each<[string, string | null, string]>([
    ['no key file', null, 'cannot read the pre-shared key'],
    ['too short', 'c2VjcmV0', 'is not a WireGuard key (want 44 base64 characters, from wg genpsk; got 8)'],
    ['a quote that would break the JSON', `${KEY.slice(0, 20)}"${KEY.slice(21)}`, 'is not a WireGuard key'],
    ['no padding', `${KEY.slice(0, 43)}A`, "want 44 base64 characters ending in '='"],
  ])('refuses %s and writes nothing', (_label, key, message) => {
    const r = run(key);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(message);
    expect(fs.existsSync(path.join(dir, 'out.json'))).toBe(false);
  });
});
