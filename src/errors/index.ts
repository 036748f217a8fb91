export { HoldfastError, isHoldfastError, type HoldfastErrorOptions } from './holdfast-error.js';
