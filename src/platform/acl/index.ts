export { createStaticAcl, type AclHooks } from './static-acl.js';
export { filterCovers, filtersOverlap } from './filter-relations.js';
