export * from './environment';
export * from './errors';
export * from './load';
export { toEnvironment, MIN_UNDERLAY_MTU, MAX_UNDERLAY_MTU } from './validate';
