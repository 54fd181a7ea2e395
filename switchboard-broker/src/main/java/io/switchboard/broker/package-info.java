/**
 * The protocol-agnostic engine: streams, consumers, live subscriptions, request/reply. Filled by
 * the broker-engine issue; empty until then.
 */
package io.switchboard.broker;
