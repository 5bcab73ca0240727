import { App } from 'cdk8s';
import * as api from '../../src';

// The smallest typed input: every key with a documented default left out.
const MINIMAL: api.Environment = {
  name: 'lib',
  flannel: { podNetwork: '10.244.0.0/16' },
  clouds: [{ name: 'a', nicMtu: 1400 }],
};

describe('resolveEnvironment', () => {
  test('fills every documented default', () => {
    expect(api.resolveEnvironment(MINIMAL)).toEqual({
      name: 'lib',
      flannel: {
        backend: 'vxlan',
        podNetwork: '10.244.0.0/16',
        vni: api.DEFAULT_VNI,
        ...api.DEFAULT_CNI_DIRS,
        skipCNIConfigInstallation: false,
        enableNFTables: false,
        args: [],
        resources: api.DEFAULT_FLANNEL_RESOURCES,
        tolerations: api.DEFAULT_TOLERATIONS,
        healthzPort: api.DEFAULT_HEALTHZ_PORT,
        cniPlugins: api.DEFAULT_CNI_PLUGINS,
      },
      clouds: [{ name: 'a', nicMtu: 1400 }],
      links: [],
      mssClamp: { enabled: true },
      images: api.DEFAULT_IMAGES,
      probe: api.DEFAULT_PROBE,
      mtuMode: 'uniform',
      pmtud: { mode: api.DEFAULT_PMTUD_MODE },
      imagePullSecrets: [],
      distribution: 'kubeadm',
    });
  });

  test('is idempotent, also for a backend that takes no VNI', () => {
    for (const backend of ['vxlan', 'wireguard'] as const) {
      const once = api.resolveEnvironment({ ...MINIMAL, flannel: { ...MINIMAL.flannel, backend }, rollout: { namespaces: ['shop'] } });
      expect(api.resolveEnvironment(once)).toEqual(once);
    }
  });

  test('treats a key set to undefined in code as left out', () => {
    expect(api.resolveEnvironment({ ...MINIMAL, flannel: { podNetwork: '10.244.0.0/16', port: undefined } }).flannel).not.toHaveProperty('port');
  });

  test('fails when a typed environment is invalid, with the YAML path', () => {
    expect(() => api.resolveEnvironment({ ...MINIMAL, clouds: [{ name: 'a', nicMtu: 100 }] })).toThrow(/clouds\[0\]\.nicMtu: expected an integer between 576 and 9216, got 100/);
  });

  test('planMtu and FlannelChart take the unresolved input', () => {
    // One cloud, NIC 1400: vxlan 50 -> pods 1350, Backend.MTU 1400, MSS 1350 - 40 = 1310.
    expect(api.planMtu(MINIMAL)).toMatchObject({ underlayMtu: 1400, podMtu: 1350, backendMtu: 1400, mss: 1310 });
    const chart = new api.FlannelChart(new App({ outdir: '/nonexistent' }), 'lib', { environment: MINIMAL });
    expect(api.validateObjects(chart.toJson())).toEqual([]);
  });
});

describe('a resolved environment', () => {
  test('is frozen, so resolving it again can return it as validated', () => {
    const once = api.resolveEnvironment(MINIMAL);
    expect(Object.isFrozen(once.clouds[0])).toBe(true);
    expect(api.resolveEnvironment(once)).toBe(once);
  });

  test('is a copy: the caller\'s objects are not frozen, and a changed copy is validated again', () => {
    const nodeSelector = { region: 'a' };
    const once = api.resolveEnvironment({ ...MINIMAL, clouds: [{ name: 'a', nicMtu: 1400, nodeSelector }] });
    expect(Object.isFrozen(nodeSelector)).toBe(false);
    expect(() => api.resolveEnvironment({ ...once, clouds: [{ ...once.clouds[0]!, nicMtu: 100 }] })).toThrow(/clouds\[0\]\.nicMtu/);
  });
});
