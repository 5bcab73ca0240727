import { linkName, ResolvedEnvironment } from '../model/environment';
import { InputError, Problem } from '../model/errors';

/**
 * `flannel-mtu drift`: from the path-MTU probe's JSON log lines to the path MTUs an environment
 * should declare. Pure: reads text and a resolved environment, decides, and edits nothing.
 */

/** The probe's statuses (src/node/scripts/path-mtu-probe.sh). */
export const PROBE_STATUSES = ['healthy', 'too-small', 'wasted', 'unreachable'] as const;
export type ProbeStatus = (typeof PROBE_STATUSES)[number];

/** One probe result: one link, one family, one direction, one round. */
export interface ProbeResult {
  readonly from: string;
  readonly to: string;
  readonly link: string;
  readonly family: 'ipv4' | 'ipv6';
  readonly declared: number;
  /** The largest packet that crossed; 0 when the peer did not answer at all. */
  readonly measured: number;
  readonly status: ProbeStatus;
  /** Where it was read: line number in the log. */
  readonly line: number;
}

export interface ProbeLog {
  readonly results: readonly ProbeResult[];
  /** Lines that are not probe results (kubectl notices, the probe's own errors, other JSON), skipped. */
  readonly skipped: number;
}

/**
 * A `kubectl logs` prefix: `[pod/<name>/<container>] ` (--prefix) and/or an RFC 3339 timestamp
 * (--timestamps), in that order, before the line the container wrote.
 */
const PREFIX = /^(\[[^\]\s]*\] )?(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d) )?/;

/**
 * Reads probe log lines as `kubectl logs -l app=flannel-mtu-probe -n kube-flannel` prints them:
 * several pods and rounds mixed, with or without --prefix / --timestamps. Lines that are not JSON
 * objects, or JSON without `"probe":"path-mtu"`, are skipped and counted; a line that claims to be a
 * probe result but is not a valid one is an error naming its line, so nothing is decided from a
 * truncated or foreign log.
 */
export function parseProbeLog(text: string, file: string): ProbeLog {
  const results: ProbeResult[] = [];
  const problems: Problem[] = [];
  let skipped = 0;
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    const body = raw.replace(/\r$/, '').replace(PREFIX, '');
    if (body.trim() === '') return;
    if (!body.startsWith('{')) {
      skipped++;
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch {
      if (body.includes('"probe":"path-mtu"')) problems.push({ file, line, message: `a probe result that is not valid JSON (truncated?): ${clip(body)}` });
      else skipped++;
      return;
    }
    if (typeof value !== 'object' || value === null || (value as { probe?: unknown }).probe !== 'path-mtu') {
      skipped++;
      return;
    }
    const r = value as Record<string, unknown>;
    const bad = (key: string, expected: string) => problems.push({ file, line, message: `probe result ${key}: expected ${expected}, got ${JSON.stringify(r[key]) ?? 'nothing'}` });
    const name = (key: string) => typeof r[key] === 'string' && /^[a-z0-9]([a-z0-9~-]*[a-z0-9])?$/.test(r[key] as string);
    const int = (key: string, min: number) => Number.isInteger(r[key]) && (r[key] as number) >= min && (r[key] as number) <= 65535;
    const before = problems.length;
    for (const key of ['from', 'to', 'link']) if (!name(key)) bad(key, 'a cloud or link name');
    if (r.family !== 'ipv4' && r.family !== 'ipv6') bad('family', '"ipv4" or "ipv6"');
    if (!int('declared', 1)) bad('declared', 'an MTU');
    if (!int('measured', 0)) bad('measured', 'an MTU, or 0 (unreachable)');
    if (!PROBE_STATUSES.includes(r.status as ProbeStatus)) bad('status', PROBE_STATUSES.map((s) => `"${s}"`).join(', '));
    if (problems.length > before) return;
    results.push({ from: r.from as string, to: r.to as string, link: r.link as string, family: r.family as 'ipv4' | 'ipv6', declared: r.declared as number, measured: r.measured as number, status: r.status as ProbeStatus, line });
  });
  if (problems.length > 0) throw new InputError(problems);
  if (results.length === 0) {
    throw new InputError([{ file, message: `no probe results: expected JSON lines {"probe":"path-mtu",...} as \`kubectl logs -n kube-flannel -l app=flannel-mtu-probe --tail=-1\` prints them (${skipped} other line${skipped === 1 ? '' : 's'} skipped)` }]);
  }
  return { results, skipped };
}

/** What was measured in one direction of a link. */
export interface DirectionMeasurement {
  readonly from: string;
  readonly to: string;
  /** The smallest non-zero result, or null when every round was unreachable. */
  readonly smallest: number | null;
  /** Rounds with an answer, and rounds without. */
  readonly rounds: number;
  readonly unreachable: number;
}

export type DriftVerdict =
  /** The measurement agrees with the declaration (within the probe margin above it). */
  | 'ok'
  /** No probe result for this link and family. */
  | 'unmeasured'
  /** The path is smaller than declared: lower the declaration (the safe direction). */
  | 'lower'
  /** The path carries more than declared + margin, and --allow-raise was given. */
  | 'raise'
  /** The path carries more than declared + margin; raising needs --allow-raise. */
  | 'raise-refused';

export interface LinkFamilyDrift {
  /** Index in the environment's `links`. */
  readonly index: number;
  readonly link: string;
  readonly family: 'ipv4' | 'ipv6';
  /** The path MTU the environment declares for this family (IPv6: pathMtuV6, else pathMtu). */
  readonly declared: number;
  readonly directions: readonly DirectionMeasurement[];
  /** The smallest of the directions (a link has one path MTU per family), or null. */
  readonly measured: number | null;
  readonly verdict: DriftVerdict;
  /** The value to declare: `measured` for lower and raise, else `declared`. */
  readonly value: number;
  /** One sentence for people. */
  readonly why: string;
}

export interface DriftOptions {
  /** Raise a declared path MTU when the path carries more. @default false */
  readonly allowRaise?: boolean;
}

export interface DriftDecision {
  readonly environment: string;
  readonly links: readonly LinkFamilyDrift[];
  /** Whether anything differs from the declaration (a refused raise counts: it is drift, only not applied). */
  readonly drift: boolean;
  /** Results that name no link of the environment (another cluster's log, a renamed link). */
  readonly foreign: readonly ProbeResult[];
}

/**
 * Per link and family, the smallest result per direction; the link's measured path MTU is the
 * smaller direction. Lower when it is below the declaration; raise when it is above the
 * declaration by more than the probe margin (the probe's "wasted"), only with `allowRaise`. A
 * result at the search's upper bound (the smaller NIC of the two ends) says only "at least this":
 * it never lowers a declaration above the NICs, which the plan caps at the NICs anyway.
 */
export function decideDrift(env: ResolvedEnvironment, log: ProbeLog, opts: DriftOptions = {}): DriftDecision {
  const margin = env.probe?.marginBytes ?? 10;
  const nic = new Map(env.clouds.map((c) => [c.name, c.nicMtu]));
  const names = env.links.map(linkName);
  const foreign = log.results.filter((r) => !names.includes(r.link));
  const families: Array<'ipv4' | 'ipv6'> = ['ipv4', 'ipv6'];
  const links: LinkFamilyDrift[] = env.links.flatMap((l, index) => families.flatMap((family): LinkFamilyDrift[] => {
    const link = names[index];
    const results = log.results.filter((r) => r.link === link && r.family === family);
    const declared = family === 'ipv6' ? l.pathMtuV6 ?? l.pathMtu : l.pathMtu;
    if (results.length === 0) {
      // An unmeasured IPv4 row says the probe did not cover the link; IPv6 is listed only when measured.
      if (family === 'ipv6') return [];
      return [{ index, link, family, declared, directions: [], measured: null, verdict: 'unmeasured', value: declared, why: 'no probe result for this link' }];
    }
    const [a, b] = l.between;
    const directions: DirectionMeasurement[] = [[a, b], [b, a]].map(([from, to]) => {
      const rs = results.filter((r) => r.from === from && r.to === to);
      const answered = rs.filter((r) => r.measured > 0);
      return { from, to, smallest: answered.length > 0 ? Math.min(...answered.map((r) => r.measured)) : null, rounds: answered.length, unreachable: rs.length - answered.length };
    });
    const seen = directions.map((d) => d.smallest).filter((m): m is number => m !== null);
    const measured = seen.length > 0 ? Math.min(...seen) : null;
    const ceiling = Math.min(nic.get(a)!, nic.get(b)!);
    const base = { index, link, family, declared, directions, measured };
    if (measured === null) return [{ ...base, verdict: 'unmeasured', value: declared, why: 'every round was unreachable: nothing measured' }];
    if (measured < declared && measured < ceiling) {
      return [{ ...base, verdict: 'lower', value: measured, why: `the path carries ${measured}, less than the declared ${declared}: lower it (the blackhole is back until then)` }];
    }
    if (measured < declared) {
      return [{ ...base, verdict: 'ok', value: declared, why: `measured ${measured}, the NICs' limit (the probe searches no higher); the plan already caps the declared ${declared} there` }];
    }
    if (measured > declared + margin) {
      return opts.allowRaise
        ? [{ ...base, verdict: 'raise', value: measured, why: `the path carries ${measured}, more than the declared ${declared} + margin ${margin}: raised (--allow-raise)` }]
        : [{ ...base, verdict: 'raise-refused', value: declared, why: `the path carries ${measured}, more than the declared ${declared} + margin ${margin}; not raised: raising is the risky direction, check the path and pass --allow-raise` }];
    }
    return [{ ...base, verdict: 'ok', value: declared, why: measured === declared ? 'as declared' : `measured ${measured}, within the margin of ${margin} above the declared ${declared}` }];
  }));
  return { environment: env.name, links, drift: links.some((l) => l.verdict === 'lower' || l.verdict === 'raise' || l.verdict === 'raise-refused'), foreign };
}

function clip(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
