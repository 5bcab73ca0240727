// mtulab.sh's own contract: `run` tears down, interrupts tear down, the owner watchdog tears down,
// `down` touches only its own lab, usage errors exit 2.
import { spawn, spawnSync } from 'child_process';
import { MTULAB_SCRIPT, MtuLab, labNamespaces, runMtulab } from '../../lab/engine';

const base = (labId: string) => ({
  PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
  LAB_ID: labId,
  POST_TIMEOUT: '3',
});

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}

describe('mtulab.sh lifecycle', () => {
  const id = (s: string) => `fmlab-jlc${process.pid}-${s}`;

  afterAll(() => {
    // belt and braces: nothing of ours may survive this file
    for (const s of ['run', 'term', 'wdog', 'one', 'two']) {
      if (labNamespaces(id(s)).length) runMtulab(['down'], { LAB_ID: id(s) }, 30_000);
    }
    expect(labNamespaces(`fmlab-jlc${process.pid}-`)).toEqual([]);
  }, 30_000);

  test('run = up + checks + down, one JSON line each', () => {
    const out = runMtulab(
      ['run', 'post 200 podA podB', 'reconfig OVERLAY_MTU_A=1330 OVERLAY_MTU_B=1330', 'dfping podA podB 1330'],
      base(id('run')),
      60_000,
    );
    expect(out.map((o) => o.event ?? o.check)).toEqual(['up', 'post', 'reconfig', 'dfping', 'down']);
    expect(out[4]).toMatchObject({ namespaces_removed: 6 });
    expect(out[1]).toMatchObject({ result: 'ok' });
    expect(out[2]).toMatchObject({ overlay_mtu_a: 1330, pod_mtu_a: 1330 });
    expect(out[3]).toMatchObject({ result: 'ok' });
    expect(labNamespaces(id('run'))).toEqual([]);
  }, 60_000);

  test('SIGTERM in the middle of a hanging check tears the lab down', async () => {
    const child = spawn('bash', [MTULAB_SCRIPT, 'run', 'post 1616 podA podB', 'post 1616 podA podB'], {
      env: { ...base(id('term')), POST_TIMEOUT: '20' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    expect(await waitFor(() => stdout.includes('"event":"up"'), 15_000)).toBe(true);
    expect(labNamespaces(id('term'))).toHaveLength(6);
    await new Promise((r) => setTimeout(r, 500));
    const t = Date.now();
    child.kill('SIGTERM');
    expect(await exited).toBe(143);
    expect(Date.now() - t).toBeLessThan(3000);
    expect(labNamespaces(id('term'))).toEqual([]);
  }, 30_000);

  test('the watchdog tears the lab down when LAB_OWNER_PID dies', async () => {
    const owner = spawn('sleep', ['60'], { stdio: 'ignore' });
    runMtulab(['up'], { ...base(id('wdog')), LAB_OWNER_PID: String(owner.pid) }, 30_000);
    expect(labNamespaces(id('wdog'))).toHaveLength(6);
    owner.kill('SIGKILL');
    expect(await waitFor(() => labNamespaces(id('wdog')).length === 0, 8000)).toBe(true);
  }, 30_000);

  test('down removes only its own lab', () => {
    const one = new MtuLab({ labId: id('one') });
    const two = new MtuLab({ labId: id('two') });
    one.up();
    two.up();
    try {
      expect(one.down()).toMatchObject({ namespaces_removed: 6 });
      expect(one.namespaces()).toEqual([]);
      expect(two.namespaces()).toHaveLength(6);
      expect(two.post(200, 'nodeA', 'nodeB')).toMatchObject({ result: 'ok' });
    } finally {
      two.down();
      one.down();
    }
    expect(two.namespaces()).toEqual([]);
  }, 60_000);

  test('usage errors exit 2 and build nothing', () => {
    const bad = (args: string[], env: Record<string, string>) =>
      spawnSync('bash', [MTULAB_SCRIPT, ...args], { env: { ...base(id('bad')), ...env }, encoding: 'utf8' });
    expect(bad(['post', '1616', 'podA', 'podC'], {}).status).toBe(2);
    expect(bad(['up'], { WAN_MODEL: 'carrier-pigeon' }).status).toBe(2);
    expect(bad(['up'], { LAB_ID: 'not-a-lab' }).status).toBe(2);
    expect(bad(['post', '1616', 'podA', 'nodeB-ul'], {}).status).toBe(2);
    // a check on a lab that is not up is an engine error, not a result
    expect(bad(['post', '1616', 'podA', 'podB'], {}).status).toBe(1);
    expect(labNamespaces(id('bad'))).toEqual([]);
  });
});
