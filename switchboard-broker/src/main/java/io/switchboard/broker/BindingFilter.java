package io.switchboard.broker;

import io.switchboard.core.Message;

/**
 * An owner's test of whether one of its durable bindings copies a message its pattern matched (see
 * {@link Broker#bindingFilter}). Called inside every publish the pattern matches, on the
 * publisher's thread: it must be quick, must not block and must not throw.
 */
@FunctionalInterface
public interface BindingFilter {
  boolean accepts(BindingSpec binding, Message message);
}
