import * as fs from 'fs';
import * as path from 'path';
import { parseEnvironment } from '../../src/config/load';
import { InputError } from '../../src/model/errors';
import { decideDrift, parseProbeLog, ProbeLog } from '../../src/report/drift';
import { REPO } from '../support/dist';
import { DUAL, SEED } from './scenarios';

/** The probe log recorded from the netns lab (test/fixtures/README.md). */
const RECORDED = fs.readFileSync(path.join(REPO, 'test', 'fixtures', 'probe-seed-dev.log'), 'utf8');

/** One probe line as the script prints it. */
const line = (from: string, to: string, measured: number, extra: Partial<Record<string, unknown>> = {}) =>
  JSON.stringify({ probe: 'path-mtu', from, to, link: 'sdwan', family: 'ipv4', peer: '192.0.2.1', declared: 1380, measured, status: measured === 0 ? 'unreachable' : 'healthy', seconds: 3, ...extra });

const env = (text: string) => parseEnvironment(text, 'env.yaml').environment;
const errorOf = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    if (e instanceof InputError) return e.message;
    throw e;
  }
  throw new Error('expected an InputError');
};

describe('parseProbeLog', () => {
  test('reads the recorded lab log: 4 results, kubectl --prefix stripped', () => {
    const log = parseProbeLog(RECORDED, 'probe.log');
    expect(log.skipped).toBe(0);
    expect(log.results.map((r) => [r.from, r.to, r.measured, r.status, r.line])).toEqual([
      ['cloud-a', 'cloud-b', 1380, 'healthy', 1],
      ['cloud-b', 'cloud-a', 1380, 'healthy', 2],
      ['cloud-a', 'cloud-b', 1360, 'too-small', 3],
      ['cloud-b', 'cloud-a', 1360, 'too-small', 4],
    ]);
  });

  test('tolerates --timestamps, both prefixes, CRLF, kubectl notices, the probe\'s own errors and other JSON, and counts them', () => {
    const text = [
      'Found 2 pods, using pod/flannel-mtu-probe-cloud-a-x',
      `2026-12-01T09:00:00.123456789Z ${line('cloud-a', 'cloud-b', 1370)}`,
      `[pod/p-1/probe] 2026-12-01T09:05:00+01:00 ${line('cloud-b', 'cloud-a', 1375)}\r`,
      '[pod/p-1/probe] path-mtu-probe: PROBE_TARGETS: no targets',
      '{"level":"info","msg":"not a probe line"}',
      '',
    ].join('\n');
    const log = parseProbeLog(text, 'probe.log');
    expect(log.results.map((r) => [r.measured, r.line])).toEqual([[1370, 2], [1375, 3]]);
    expect(log.skipped).toBe(3);
  });

  test('fails when a probe line is truncated or wrong, naming the line; nothing is decided from it', () => {
    expect(errorOf(() => parseProbeLog(`${line('cloud-a', 'cloud-b', 1380)}\n${line('cloud-a', 'cloud-b', 1380).slice(0, 60)}`, 'p.log')))
      .toMatch(/^p\.log:2:1: a probe result that is not valid JSON \(truncated\?\): \{"probe":"path-mtu"/);
    expect(errorOf(() => parseProbeLog(line('cloud-a', 'cloud-b', 1380, { measured: '1380', family: 'v4' }), 'p.log')))
      .toBe('p.log:1:1: probe result family: expected "ipv4" or "ipv6", got "v4"\np.log:1:1: probe result measured: expected an MTU, or 0 (unreachable), got "1380"');
  });

  test('fails when there is no probe result at all, saying what it expected', () => {
    expect(errorOf(() => parseProbeLog('error: no pods found\n', 'p.log')))
      .toBe('p.log: no probe results: expected JSON lines {"probe":"path-mtu",...} as `kubectl logs -n kube-flannel -l app=flannel-mtu-probe --tail=-1` prints them (1 other line skipped)');
  });
});

describe('decideDrift', () => {
  const log = (...lines: string[]): ProbeLog => parseProbeLog(lines.join('\n'), 'p.log');

  test('the recorded lab log: smallest per direction 1360 both ways, below the declared 1380: lower', () => {
    const d = decideDrift(env(SEED), parseProbeLog(RECORDED, 'p.log'));
    expect(d.drift).toBe(true);
    expect(d.links).toEqual([expect.objectContaining({
      link: 'sdwan', family: 'ipv4', declared: 1380, measured: 1360, verdict: 'lower', value: 1360,
      directions: [{ from: 'cloud-a', to: 'cloud-b', smallest: 1360, rounds: 2, unreachable: 0 }, { from: 'cloud-b', to: 'cloud-a', smallest: 1360, rounds: 2, unreachable: 0 }],
    })]);
  });

  // SEED: sdwan declared 1380, NICs 1400 (the probe searches no higher), margin 10 (default).
  test.each([
    ['as declared', [1380, 1380], 'ok', 1380],
    // The smaller direction decides: a link has one path MTU per family.
    ['one direction shrank', [1380, 1350], 'lower', 1350],
    // 1380 + 10 = 1390 is still within the margin the probe calls healthy.
    ['within the margin above', [1390, 1395], 'ok', 1380],
    ['above the margin, no --allow-raise', [1395, 1396], 'raise-refused', 1380],
  ])('%s: measured %j -> %s, declare %d', (_name, [ab, ba], verdict, value) => {
    const d = decideDrift(env(SEED), log(line('cloud-a', 'cloud-b', ab as number), line('cloud-b', 'cloud-a', ba as number)));
    expect(d.links[0]).toMatchObject({ verdict, value });
    expect(d.drift).toBe(verdict !== 'ok');
  });

  test('raises only with allowRaise, to the smaller direction', () => {
    const d = decideDrift(env(SEED), log(line('cloud-a', 'cloud-b', 1400), line('cloud-b', 'cloud-a', 1398)), { allowRaise: true });
    expect(d.links[0]).toMatchObject({ verdict: 'raise', measured: 1398, value: 1398 });
  });

  test('unreachable rounds are not measurements; all unreachable is unmeasured, not drift', () => {
    expect(decideDrift(env(SEED), log(line('cloud-a', 'cloud-b', 0), line('cloud-a', 'cloud-b', 1370))).links[0])
      .toMatchObject({ verdict: 'lower', value: 1370, directions: [{ smallest: 1370, rounds: 1, unreachable: 1 }, { smallest: null, rounds: 0 }] });
    const none = decideDrift(env(SEED), log(line('cloud-a', 'cloud-b', 0)));
    expect(none).toMatchObject({ drift: false, links: [{ verdict: 'unmeasured', value: 1380 }] });
  });

  test('a declaration above the NICs is not lowered by a result at the NIC ceiling', () => {
    // sdwan declared 1450 over NICs of 1400: the plan uses 1400; the probe stops at 1400.
    const d = decideDrift(env(SEED.replace('pathMtu: 1380', 'pathMtu: 1450')), log(line('cloud-a', 'cloud-b', 1400)));
    expect(d.links[0]).toMatchObject({ verdict: 'ok', value: 1450 });
  });

  test('IPv6 is decided on its own against pathMtuV6; results for unknown links are set aside', () => {
    // DUAL: sdwan 1380 (IPv4), 1420 (IPv6).
    const d = decideDrift(env(DUAL), log(line('cloud-a', 'cloud-b', 1380), line('cloud-a', 'cloud-b', 1400, { family: 'ipv6' }), line('x', 'y', 1300, { link: 'other' })));
    expect(d.links.map((l) => [l.family, l.declared, l.verdict, l.value])).toEqual([['ipv4', 1380, 'ok', 1380], ['ipv6', 1420, 'lower', 1400]]);
    expect(d.foreign.map((f) => f.link)).toEqual(['other']);
  });
});
