import { editLinkMtus } from '../../src/config/edit';
import { InputError } from '../../src/model/errors';
import { DUAL, SEED } from '../report/scenarios';

/** The lines of `after` that differ from `before`'s at the same index (the edits keep line counts unless a key is added). */
const changedLines = (before: string, after: string) => after.split('\n').filter((l, i) => l !== before.split('\n')[i]);

describe('editLinkMtus', () => {
  const commented = SEED.replace('    pathMtu: 1380\n', '    # measured with DF pings\n    pathMtu: 1380   # both directions\n');

  test('replaces only the number: comments, spacing and every other line stay', () => {
    const r = editLinkMtus(commented, 'env.yaml', [{ index: 0, v4: 1360 }]);
    expect(r.text).toBe(commented.replace('pathMtu: 1380   #', 'pathMtu: 1360   #'));
    expect(r.edits).toEqual([{ path: 'links[0].pathMtu', line: 14, old: '1380', new: '1360' }]);
  });

  test('a link in flow style is edited in place too', () => {
    const flow = SEED.replace('  - between: [cloud-a, cloud-b]\n    name: sdwan\n    pathMtu: 1380\n', '  - { between: [cloud-a, cloud-b], name: sdwan, pathMtu: 1380 }\n');
    expect(changedLines(flow, editLinkMtus(flow, 'env.yaml', [{ index: 0, v4: 1360 }]).text)).toEqual(['  - { between: [cloud-a, cloud-b], name: sdwan, pathMtu: 1360 }']);
  });

  test('mtu and overhead: the link mtu stays, the overhead grows by what the path lost', () => {
    // mtu 1400 - overhead 20 = 1380; measured 1360: overhead 1400 - 1360 = 40.
    const text = SEED.replace('    pathMtu: 1380\n', '    mtu: 1400\n    overhead: 20   # IPsec\n');
    const r = editLinkMtus(text, 'env.yaml', [{ index: 0, v4: 1360 }]);
    expect(changedLines(text, r.text)).toEqual(['    overhead: 40   # IPsec']);
    expect(r.edits).toEqual([{ path: 'links[0].overhead', line: 14, old: '20', new: '40', why: 'mtu 1400 stays; overhead 1400 - 1360 = 40 gives path MTU 1360' }]);
  });

  test('fails when the path is above the declared link mtu, which no overhead can say', () => {
    const text = SEED.replace('    pathMtu: 1380\n', '    mtu: 1400\n    overhead: 20\n');
    expect(() => editLinkMtus(text, 'env.yaml', [{ index: 0, v4: 1420 }])).toThrow(InputError);
    expect(() => editLinkMtus(text, 'env.yaml', [{ index: 0, v4: 1420 }])).toThrow('links[0].mtu: link sdwan: the measured path MTU 1420 exceeds the declared link mtu 1400');
  });

  test('a declared pathMtuV6 is replaced; a measured IPv6 value that differs from the new pathMtu is added under it', () => {
    // DUAL: pathMtu 1380, pathMtuV6 1420.
    expect(changedLines(DUAL, editLinkMtus(DUAL, 'env.yaml', [{ index: 0, v4: 1380, v6: 1400 }]).text)).toEqual(['    pathMtuV6: 1400']);
    const implicit = DUAL.replace('    pathMtuV6: 1420\n', '');
    // IPv4 shrinks to 1360, IPv6 measured at 1380 (as before, when it followed pathMtu): keep it explicitly.
    const r = editLinkMtus(implicit, 'env.yaml', [{ index: 0, v4: 1360, v6: 1380 }]);
    expect(r.text).toBe(implicit.replace('    pathMtu: 1380\n', '    pathMtu: 1360\n    pathMtuV6: 1380\n'));
    expect(r.edits.map((e) => [e.path, e.line, e.old, e.new])).toEqual([['links[0].pathMtu', 14, '1380', '1360'], ['links[0].pathMtuV6', 15, null, '1380']]);
    // The same in flow style.
    const flow = implicit.replace('  - between: [cloud-a, cloud-b]\n    name: sdwan\n    pathMtu: 1380\n', '  - { between: [cloud-a, cloud-b], name: sdwan, pathMtu: 1380 }\n');
    expect(changedLines(flow, editLinkMtus(flow, 'env.yaml', [{ index: 0, v4: 1360, v6: 1380 }]).text)).toEqual(['  - { between: [cloud-a, cloud-b], name: sdwan, pathMtu: 1360, pathMtuV6: 1380 }']);
  });

  test('no edit, no change', () => {
    expect(editLinkMtus(commented, 'env.yaml', [{ index: 0, v4: 1380 }])).toEqual({ text: commented, edits: [] });
  });
});
