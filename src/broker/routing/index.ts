/**
 * Routing: pure data structures on the broker's hot path, no I/O.
 * - topic.ts: topic name / filter validation, shared filter parsing, the reference matcher.
 * - SubscriptionTrie: which subscribers match a published topic.
 * - SharedGroups: members of shared subscriptions and the pick of one per message.
 * - RetainedIndex: retained messages by topic, matched lazily against a filter.
 */
export {
  isValidTopicName,
  isValidTopicFilter,
  parseSharedFilter,
  topicMatches,
  isWildcardFilter,
  type TopicLimits,
  type SharedFilter,
} from './topic.js';
export { SubscriptionTrie, type MatchVisitor } from './subscription-trie.js';
export {
  SharedGroups,
  sharedTrieKey,
  sharedGroupOfKey,
  type SharedMember,
  type SharedStrategy,
  type SharedGroupsOptions,
  type Eligibility,
} from './shared-groups.js';
export { RetainedIndex } from './retained-index.js';
