/**
 * The static ACL from the config file (acl.rules) as the broker's authorizePublish and
 * authorizeSubscribe hooks.
 *
 * Semantics (documented for operators in docs/operations.md):
 * - Rules are tried in order; the first rule that matches decides (allow or deny). When
 *   no rule matches, the action is allowed.
 * - A rule matches when its action fits (`all` = publish and subscribe), its `clientId` /
 *   `username` (if set) equal the client's exactly, and its topic filter matches:
 *   - publish: the filter matches the topic name (MQTT 4.7 matching, incl. MQTT-4.7.2-1:
 *     `#` does not match `$SYS/...`);
 *   - subscribe, allow rule: the requested filter must be *covered* by the rule's filter
 *     (every topic the subscription can receive matches the rule; Mosquitto's
 *     sub_matches_acl): allow `a/#` covers `a/+/c`, but allow `a/b` does not cover `a/#`;
 *   - subscribe, deny rule: the requested filter is denied when it *overlaps* the rule's
 *     filter (it could receive at least one topic the rule denies): deny `a/b` refuses
 *     `a/#`, `+/b` and `#`. There is no per-delivery read check, so refusing at SUBSCRIBE
 *     is the only way a deny rule can hold.
 *   - a shared subscription `$share/{group}/{filter}` is checked by its inner filter.
 * - `%c` / `%u` in a rule's topic stand for the client id / username. A rule with `%u`
 *   does not match a client without a username (nor `%c` one with an empty client id).
 *   A client id or username containing `+`, `#` or `/` would widen such a rule, so when a
 *   rule using it is reached the action is denied (fail closed).
 *
 * Everything is precompiled once; authorizePublish runs per message, so with no rule
 * that concerns publishing the hook is not installed at all (the broker then skips it).
 */
import type { AclRule } from '../../broker/config.js';
import type { ClientInfo, Hooks } from '../../broker/hooks.js';
import { parseSharedFilter, topicMatches } from '../../broker/routing/index.js';
import { filterCovers, filtersOverlap } from './filter-relations.js';

interface CompiledRule {
  readonly topic: string;
  readonly allow: boolean;
  readonly clientId: string | undefined;
  readonly username: string | undefined;
  readonly usesClientId: boolean;
  readonly usesUsername: boolean;
}

const DANGEROUS = /[+#/]/;

function compile(rule: AclRule): CompiledRule {
  return {
    topic: rule.topic,
    allow: rule.allow,
    clientId: rule.clientId,
    username: rule.username,
    usesClientId: rule.topic.includes('%c'),
    usesUsername: rule.topic.includes('%u'),
  };
}

/**
 * The rule's filter for this client; undefined when the rule does not apply to it, null
 * when applying it would need a dangerous substitution (the caller denies).
 */
function filterFor(rule: CompiledRule, client: ClientInfo): string | undefined | null {
  if (rule.clientId !== undefined && rule.clientId !== client.clientId) return undefined;
  if (rule.username !== undefined && rule.username !== client.username) return undefined;
  let topic = rule.topic;
  if (rule.usesClientId) {
    if (client.clientId === '') return undefined;
    if (DANGEROUS.test(client.clientId)) return null;
    topic = topic.replaceAll('%c', client.clientId);
  }
  if (rule.usesUsername) {
    const username = client.username;
    if (username === undefined || username === '') return undefined;
    if (DANGEROUS.test(username)) return null;
    topic = topic.replaceAll('%u', username);
  }
  return topic;
}

export function checkPublish(rules: readonly CompiledRule[], client: ClientInfo, topic: string): boolean {
  for (const rule of rules) {
    const filter = filterFor(rule, client);
    if (filter === undefined) continue;
    if (filter === null) return false;
    if (topicMatches(filter, topic)) return rule.allow;
  }
  return true;
}

export function checkSubscribe(rules: readonly CompiledRule[], client: ClientInfo, requested: string): boolean {
  const shared = parseSharedFilter(requested);
  const wanted = shared !== null && shared !== 'invalid' ? shared.filter : requested;
  for (const rule of rules) {
    const filter = filterFor(rule, client);
    if (filter === undefined) continue;
    if (filter === null) return false;
    const matches = rule.allow ? filterCovers(filter, wanted) : filtersOverlap(filter, wanted);
    if (matches) return rule.allow;
  }
  return true;
}

export type AclHooks = Pick<Hooks, 'authorizePublish' | 'authorizeSubscribe'>;

export function createStaticAcl(rules: readonly AclRule[]): AclHooks {
  const publishRules = rules.filter((r) => r.action !== 'subscribe').map(compile);
  const subscribeRules = rules.filter((r) => r.action !== 'publish').map(compile);
  const hooks: AclHooks = {};
  if (publishRules.length > 0) {
    hooks.authorizePublish = (client, topic) => checkPublish(publishRules, client, topic);
  }
  if (subscribeRules.length > 0) {
    hooks.authorizeSubscribe = (client, filter) => checkSubscribe(subscribeRules, client, filter);
  }
  return hooks;
}
