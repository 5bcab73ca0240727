// link-cni-plugins (distribution: k3s), the script as synthesized, run with busybox sh on a k3s-like
// data directory whose plugins are Debian's real CNI binaries (/usr/lib/cni), then install-cni's own
// check (also as synthesized) on the result, and a linked plugin run through its link.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { synthEnvironments } from '../../src';
import { toEnvironment } from '../../src/model';
import { findObject, K8sObject, parseManifest } from '../support/dist';
import { BUSYBOX, PREFIX } from '../support/netns';

const DEBIAN_CNI = '/usr/lib/cni';
const objects = parseManifest(synthEnvironments([{ environment: toEnvironment({
  name: 'k3s', distribution: 'k3s', flannel: { podNetwork: '10.42.0.0/16' }, clouds: [{ name: 'a', nicMtu: 1500 }],
}) }])[0].yaml);
const spec = findObject(objects, 'DaemonSet', 'kube-flannel-ds').spec.template.spec;
const init = (name: string) => spec.initContainers.find((c: K8sObject) => c.name === name);
const envOf = (c: K8sObject): Record<string, string> => Object.fromEntries(c.env.map((e: K8sObject) => [e.name, e.value]));

describe('distribution k3s: link-cni-plugins (script from the synthesized DaemonSet)', () => {
  let root: string;
  const at = (p: string) => path.join(root, p.replace(/^\//, ''));
  const sh = (c: K8sObject, env: Record<string, string>) => spawnSync(BUSYBOX, ['sh', '-c', c.args[0]], { env: { PATH: '/usr/bin:/bin', ...env }, encoding: 'utf8' });
  const link = () => {
    const env = envOf(init('link-cni-plugins'));
    return sh(init('link-cni-plugins'), { ...env, CNI_BIN_DIR: at(env.CNI_BIN_DIR), K3S_CNI_DIRS: env.K3S_CNI_DIRS.split(' ').map(at).join(' ') });
  };

  beforeAll(() => {
    for (const p of ['bridge', 'host-local', 'loopback', 'portmap', 'tuning']) expect([p, fs.existsSync(path.join(DEBIAN_CNI, p))]).toEqual([p, true]);
  });
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), `${PREFIX}k3s-`));
    // k3s's layout: data/<hash>/bin holds the plugins, data/cni links to them (k3s #10868)
    fs.mkdirSync(at('/var/lib/rancher/k3s/data/0123abcd/bin'), { recursive: true });
    fs.mkdirSync(at('/var/lib/rancher/k3s/data/cni'), { recursive: true });
    for (const p of ['bridge', 'host-local', 'loopback', 'portmap', 'tuning', 'bandwidth']) {
      fs.symlinkSync(path.join(DEBIAN_CNI, p), at(`/var/lib/rancher/k3s/data/0123abcd/bin/${p}`));
      fs.symlinkSync(at(`/var/lib/rancher/k3s/data/0123abcd/bin/${p}`), at(`/var/lib/rancher/k3s/data/cni/${p}`));
    }
    fs.mkdirSync(at('/opt/cni/bin'), { recursive: true });
    fs.writeFileSync(at('/opt/cni/bin/flannel'), '#!/bin/sh\n', { mode: 0o755 }); // install-cni-plugin's copy
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  test('the DaemonSet: containerd\'s default dirs, k3s\'s data dir mounted read-only, link before install-cni', () => {
    expect(spec.initContainers.map((c: K8sObject) => c.name)).toEqual(['install-cni-plugin', 'link-cni-plugins', 'install-cni', 'apply-node-mtu', 'tcp-mss-clamp']);
    expect(spec.volumes.filter((v: K8sObject) => v.hostPath).map((v: K8sObject) => [v.name, v.hostPath.path])).toEqual([
      ['run', '/run/flannel'], ['cni-plugin', '/opt/cni/bin'], ['cni', '/etc/cni/net.d'], ['xtables-lock', '/run/xtables.lock'], ['distribution-cni-plugins', '/var/lib/rancher/k3s/data'],
    ]);
    for (const name of ['link-cni-plugins', 'install-cni']) {
      expect(init(name).volumeMounts).toContainEqual({ name: 'distribution-cni-plugins', mountPath: '/var/lib/rancher/k3s/data', readOnly: true });
    }
    // what the conflist runs besides flannel (bridge and host-local through flannel, portmap, pmtud's tuning) and loopback
    expect(envOf(init('link-cni-plugins'))).toEqual({ CNI_BIN_DIR: '/opt/cni/bin', K3S_CNI_DIRS: '/var/lib/rancher/k3s/data/cni /var/lib/rancher/k3s/data/current/bin', CNI_PLUGINS: 'bridge host-local loopback portmap tuning' });
  });

  test('links every missing plugin to k3s\'s; install-cni\'s check then passes and a plugin runs through its link', () => {
    const r = link();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`link-cni-plugins: bridge: linked to ${at('/var/lib/rancher/k3s/data/cni/bridge')}\n`);
    expect(r.stdout).toContain('link-cni-plugins: 5 plugin(s) linked\n');
    const installEnv = envOf(init('install-cni'));
    fs.mkdirSync(at('/etc/kube-flannel'), { recursive: true });
    fs.mkdirSync(at('/etc/cni/net.d'), { recursive: true });
    fs.writeFileSync(at('/etc/kube-flannel/cni-conf.json'), findObject(objects, 'ConfigMap', 'kube-flannel-cfg').data['cni-conf.json']);
    const check = sh(init('install-cni'), { ...installEnv, CNI_CONF_SRC: at(installEnv.CNI_CONF_SRC), CNI_CONF_DEST: at(installEnv.CNI_CONF_DEST), CNI_BIN_DIR: at(installEnv.CNI_BIN_DIR) });
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
    const version = spawnSync(at('/opt/cni/bin/bridge'), [], { env: { CNI_COMMAND: 'VERSION' }, encoding: 'utf8' });
    expect(JSON.parse(version.stdout).supportedVersions).toContain('0.3.1');
  });

  test('keeps the node\'s own plugins, replaces a dangling link from an older k3s, and is idempotent', () => {
    fs.copyFileSync(path.join(DEBIAN_CNI, 'portmap'), at('/opt/cni/bin/portmap'));
    fs.symlinkSync(at('/var/lib/rancher/k3s/data/old-hash/bin/bridge'), at('/opt/cni/bin/bridge'));
    const r = link();
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('link-cni-plugins: portmap: present\n');
    expect(fs.lstatSync(at('/opt/cni/bin/portmap')).isSymbolicLink()).toBe(false);
    expect(fs.readlinkSync(at('/opt/cni/bin/bridge'))).toBe(at('/var/lib/rancher/k3s/data/cni/bridge'));
    expect(r.stdout).toContain('link-cni-plugins: 4 plugin(s) linked\n');
    expect(link().stdout).toContain('link-cni-plugins: 0 plugin(s) linked\n');
  });

  test('a plugin k3s does not have either is left for install-cni to report', () => {
    fs.rmSync(at('/var/lib/rancher/k3s/data/cni/tuning'));
    fs.rmSync(at('/var/lib/rancher/k3s/data/0123abcd/bin/tuning'));
    const r = link();
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`link-cni-plugins: tuning: not in ${at('/opt/cni/bin')} nor in k3s's`);
    expect(fs.existsSync(at('/opt/cni/bin/tuning'))).toBe(false);
  });
});

describe('distribution: what it changes in the output', () => {
  const ds = (distribution?: string) => findObject(parseManifest(synthEnvironments([{ environment: toEnvironment({
    name: 'd', ...(distribution !== undefined && { distribution }), flannel: { podNetwork: '10.42.0.0/16' }, clouds: [{ name: 'a', nicMtu: 1500 }],
  }) }])[0].yaml), 'DaemonSet', 'kube-flannel-ds');

  test('kubeadm (the default) and rke2 are upstream\'s layout: no link step, /opt/cni/bin and /etc/cni/net.d', () => {
    expect(ds('kubeadm')).toEqual(ds());
    expect(ds('rke2')).toEqual(ds());
    expect(ds().spec.template.spec.initContainers.map((c: K8sObject) => c.name)).not.toContain('link-cni-plugins');
  });

  test('an unknown distribution is refused', () => {
    expect(() => toEnvironment({ name: 'd', distribution: 'microk8s', flannel: { podNetwork: '10.42.0.0/16' }, clouds: [{ name: 'a', nicMtu: 1500 }] }))
      .toThrow(/distribution: expected one of kubeadm, k3s, rke2, got "microk8s"/);
  });
});
