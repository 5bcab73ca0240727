import * as k8s from '../../imports/k8s';

/** Shared shape of the containers that run a node script: the flannel image (it ships busybox sh, iproute2 and iptables), root with only the named capabilities. */
export function nodeScriptContainer(props: {
  readonly name: string;
  readonly image: string;
  readonly script: string;
  readonly env: Readonly<Record<string, string>>;
  readonly capabilities: readonly string[];
  readonly volumeMounts?: readonly k8s.VolumeMount[];
}): k8s.Container {
  return {
    name: props.name,
    image: props.image,
    command: ['/bin/sh', '-c'],
    args: [props.script],
    env: Object.entries(props.env).map(([name, value]) => ({ name, value })),
    resources: {
      requests: { cpu: k8s.Quantity.fromString('10m'), memory: k8s.Quantity.fromString('16Mi') },
      limits: { memory: k8s.Quantity.fromString('64Mi') },
    },
    securityContext: {
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'], add: [...props.capabilities] },
    },
    ...(props.volumeMounts && { volumeMounts: [...props.volumeMounts] }),
  };
}
