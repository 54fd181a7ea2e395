package io.switchboard.services;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a service method that may safely run more than once for one call (a read, or a write keyed
 * by the request): only such methods are retried after a retriable failure. A method without it is
 * tried exactly once, since a timed-out call may still have run.
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.METHOD)
public @interface Idempotent {}
