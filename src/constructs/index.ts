export * from './flannel-network';
export * from './node-mtu';
export * from './rollout-restart';
export * from './tcp-mss-clamp';
export * from './names';
export * from './path-mtu-probe';
export * from './route-mtu-keeper';
