package io.switchboard.services;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Names a service interface on the bus: its methods are called on {@code svc.<name>.<method>} (and
 * its events published on {@code evt.<name>.<method>}). Without it the name is the interface's
 * simple name.
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.TYPE)
public @interface Service {
  /** The service's name: one subject token (letters, digits, {@code -} and {@code _}). */
  String value();
}
