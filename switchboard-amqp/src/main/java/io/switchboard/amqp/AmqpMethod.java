package io.switchboard.amqp;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;

/**
 * A decoded method: its {@link AmqpMethods.Def} and its arguments in the table's order (octets,
 * shorts as Integer; longs as Long; long longs and timestamps as Long; short strings as String;
 * long strings as byte[]; bits as Boolean; tables as Map).
 */
record AmqpMethod(AmqpMethods.Def def, Object[] args) {

  /** A method by name with its arguments (reserved ones included, as the table lists them). */
  static AmqpMethod of(String name, Object... args) {
    AmqpMethods.Def def = AmqpMethods.byName(name);
    if (args.length != def.args().length()) {
      throw new IllegalArgumentException(
          name + " takes " + def.args().length() + " arguments, got " + args.length);
    }
    return new AmqpMethod(def, args);
  }

  String name() {
    return def.name();
  }

  boolean is(String name) {
    return def.name().equals(name);
  }

  int classId() {
    return def.classId();
  }

  int methodId() {
    return def.methodId();
  }

  String str(int i) {
    Object v = args[i];
    return v instanceof byte[] b ? new String(b, StandardCharsets.UTF_8) : (String) v;
  }

  byte[] bytes(int i) {
    return (byte[]) args[i];
  }

  boolean bit(int i) {
    return (Boolean) args[i];
  }

  int intArg(int i) {
    return ((Number) args[i]).intValue();
  }

  long longArg(int i) {
    return ((Number) args[i]).longValue();
  }

  @SuppressWarnings("unchecked")
  Map<String, Object> table(int i) {
    return (Map<String, Object>) args[i];
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof AmqpMethod m && def.equals(m.def) && Arrays.deepEquals(args, m.args);
  }

  @Override
  public int hashCode() {
    return def.hashCode();
  }

  @Override
  public String toString() {
    return def.name() + Arrays.deepToString(args);
  }
}
