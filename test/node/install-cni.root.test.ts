// install-cni (init container) as it ships in the seed-dev fixture's synthesized manifest, run with busybox sh as root
// with no capabilities (the container declares none): it installs the conflist only when every
// plugin binary the list runs is in the CNI bin dir, and otherwise fails naming the missing paths
// and leaves the installed conflist alone. The container's mount points (/etc/kube-flannel,
// /etc/cni/net.d, /opt/cni/bin) are per-test directories here.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DEBIAN_CNI_BIN_DIR } from '../../lab/cni';
import { findObject, fixtureManifest, parseManifest } from '../support/dist';
import { initContainerFromYaml } from '../support/manifest';
import { BUSYBOX, imageLikePath, PREFIX } from '../support/netns';

const yaml = fixtureManifest('seed-dev');
const shipped = initContainerFromYaml(yaml, 'install-cni');
const conflistText: string = findObject(parseManifest(yaml), 'ConfigMap', 'kube-flannel-cfg').data['cni-conf.json'];
const SETPRIV = '/usr/bin/setpriv';
for (const p of [SETPRIV, BUSYBOX, ...['bridge', 'host-local', 'portmap', 'tuning'].map((b) => path.join(DEBIAN_CNI_BIN_DIR, b))]) {
  if (!fs.existsSync(p)) throw new Error(`missing ${p}: install util-linux, busybox and containernetworking-plugins (.ci/run does)`);
}

describe(`install-cni (script from the seed-dev fixture's manifest)`, () => {
  let root: string;
  let bin: string;
  let dest: string;
  let src: string;
  const toolbox = imageLikePath('both');
  afterAll(() => fs.rmSync(toolbox, { recursive: true, force: true }));

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), `${PREFIX}install-cni-`));
    for (const d of ['kube-flannel', 'net.d', 'bin']) fs.mkdirSync(path.join(root, d));
    bin = path.join(root, 'bin');
    src = path.join(root, 'kube-flannel', 'cni-conf.json');
    dest = path.join(root, 'net.d', '10-flannel.conflist');
    fs.writeFileSync(src, conflistText);
    // The node's bin dir: Debian's real plugins, and flannel as install-cni-plugin copies it
    // (its contents do not matter to the check; Debian does not ship it).
    for (const p of shipped.env.CNI_PLUGINS.split(' ').filter((p) => p !== 'flannel')) fs.symlinkSync(path.join(DEBIAN_CNI_BIN_DIR, p), path.join(bin, p));
    fs.copyFileSync(path.join(DEBIAN_CNI_BIN_DIR, 'loopback'), path.join(bin, 'flannel'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  /** The shipped script with the container's mount points mapped to this test's directories. */
  const run = (extra: Record<string, string> = {}) => spawnSync(SETPRIV, ['--bounding-set', '-all', '--', BUSYBOX, 'sh', '-c', shipped.script], {
    env: { ...shipped.env, CNI_CONF_SRC: src, CNI_CONF_DEST: dest, CNI_BIN_DIR: bin, PATH: toolbox, ...extra },
    encoding: 'utf8',
  });
  const leftovers = () => fs.readdirSync(path.join(root, 'net.d')).filter((f) => f.startsWith('.'));

  test('ships the check for every binary the conflist runs, with the node path for messages', () => {
    expect(shipped.env).toEqual({
      CNI_CONF_SRC: '/etc/kube-flannel/cni-conf.json',
      CNI_CONF_DEST: '/etc/cni/net.d/10-flannel.conflist',
      CNI_BIN_DIR: '/opt/cni/bin',
      CNI_BIN_DIR_HOST: '/opt/cni/bin',
      // the list's types (flannel, portmap, tuning) + flannel's delegate (bridge) and its IPAM (host-local)
      CNI_PLUGINS: 'bridge flannel host-local portmap tuning',
    });
  });

  test('every plugin present: installs the ConfigMap\'s conflist byte for byte, no temp file left', () => {
    fs.writeFileSync(dest, '{"old": true}\n');
    const r = run();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(fs.readFileSync(dest, 'utf8')).toBe(conflistText);
    expect(leftovers()).toEqual([]);
    expect(r.stdout).toContain('install-cni: installed');
  });

  test.each([
    ['tuning is missing', () => fs.rmSync(path.join(bin, 'tuning')), ['/opt/cni/bin/tuning']],
    ['tuning is not executable', () => { fs.rmSync(path.join(bin, 'tuning')); fs.writeFileSync(path.join(bin, 'tuning'), '', { mode: 0o644 }); }, ['/opt/cni/bin/tuning']],
    ['tuning and portmap are missing', () => ['tuning', 'portmap'].forEach((p) => fs.rmSync(path.join(bin, p))), ['/opt/cni/bin/portmap', '/opt/cni/bin/tuning']],
  ])('fails when %s, naming the node path, and keeps the installed conflist', (_what, breakIt, named) => {
    fs.writeFileSync(dest, '{"old": true}\n');
    breakIt();
    const r = run();
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`install-cni: error: CNI plugin binaries missing on this node: ${named.join(' ')}; /etc/cni/net.d/10-flannel.conflist was not changed (every pod creation would fail with it). Install them (e.g. the containernetworking-plugins package) or leave out what needs them (pmtud.mode: off drops tuning)\n`.replace('/etc/cni/net.d/10-flannel.conflist', dest));
    expect(fs.readFileSync(dest, 'utf8')).toBe('{"old": true}\n');
    expect(leftovers()).toEqual([]);
  });

  test('fails on a first install too, writing nothing', () => {
    fs.rmSync(path.join(bin, 'tuning'));
    expect(run().status).toBe(1);
    expect(fs.readdirSync(path.join(root, 'net.d'))).toEqual([]);
  });

  test.each([
    [{ CNI_PLUGINS: 'tuning ../../bin/sh' }, "CNI_PLUGINS: invalid plugin name '../../bin/sh'"],
    [{ CNI_PLUGINS: 'tuning tuning' }, 'CNI_PLUGINS: tuning listed twice'],
    [{ CNI_PLUGINS: ' ' }, 'CNI_PLUGINS is empty'],
    [{ CNI_CONF_DEST: 'net.d/10-flannel.conflist' }, "CNI_CONF_DEST: expected an absolute path of [A-Za-z0-9/._-], got 'net.d/10-flannel.conflist'"],
    [{ CNI_BIN_DIR: '/opt/cni/bin/../../etc' }, 'CNI_BIN_DIR: expected an absolute path'],
  ])('refuses bad input %j before touching anything', (extra, message) => {
    const r = run(extra);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(message);
    expect(fs.readdirSync(path.join(root, 'net.d'))).toEqual([]);
  });
});
