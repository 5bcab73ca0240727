// The pure parts of the healing scenarios: how a stall is measured from a stream's delivery
// timeline, and the CIDR arithmetic flannel's delegate needs. Timelines here are written by hand.
import { ipv4Network } from '../../lab/cni';
import { deliveredAt, longestStall, StreamConnection } from '../../lab/healing';

// started = 1000 (absolute ms); samples every 100 ms while bytes move: 4000 B by t=200, then
// nothing until t=3400 (a 3.2 s gap), then moving again.
const conn: StreamConnection = {
  delivered: 12000,
  error: null,
  ended: null,
  timeline: [[100, 2000], [200, 4000], [3400, 8000], [3500, 12000], [5000, 12000]],
};

describe('longestStall', () => {
  test('a gap spanning the shrink counts from the last delivery before it: 3400 - 200 = 3200 ms', () => {
    expect(longestStall(conn, 1000, 1000 + 250, 1000 + 5000)).toBe(3200);
  });

  test('no delivery after `from` at all: the whole rest of the window since the last delivery', () => {
    expect(longestStall({ ...conn, timeline: [[100, 2000], [200, 4000]] }, 1000, 1250, 1000 + 8200)).toBe(8000);
  });

  test('steady delivery: the sample interval, and the tail since the last change counts too', () => {
    expect(longestStall(conn, 1000, 1000 + 3450, 1000 + 3700)).toBe(200); // 3500 -> 3700 without a change
  });
});

test('deliveredAt reads the timeline at an absolute time', () => {
  expect([deliveredAt(conn, 1000, 1050), deliveredAt(conn, 1000, 1250), deliveredAt(conn, 1000, 4450)]).toEqual([0, 4000, 8000]);
});

test.each([
  ['10.244.1.1/24', '10.244.1.0/24'],
  ['10.244.0.0/16', '10.244.0.0/16'],
  ['192.168.255.130/25', '192.168.255.128/25'],
  ['10.1.2.3/0', '0.0.0.0/0'],
])('ipv4Network(%s) is %s, as Go net.ParseCIDR', (cidr, net) => {
  expect(ipv4Network(cidr)).toBe(net);
});
