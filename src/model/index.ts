export * from './environment';
export * from './errors';
export { resolveEnvironment, toEnvironment, selectorProblem, SELECTOR_TERM_ERE, LIMITS, SYSTEM_NAMESPACES, MIN_UNDERLAY_MTU, MAX_UNDERLAY_MTU } from './validate';
