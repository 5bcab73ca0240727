export * from './environment';
export * from './errors';
export { resolveEnvironment, toEnvironment, selectorProblem, MIN_UNDERLAY_MTU, MAX_UNDERLAY_MTU } from './validate';
