package io.switchboard.services.codec;

import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Set;

/**
 * Recognises classes generated from a schema (Protobuf messages, Avro records) by name, without
 * needing their libraries on the class path. Stateless.
 */
final class SchemaTypes {
  private static final Set<String> ROOTS =
      Set.of(
          "com.google.protobuf.MessageLite",
          "org.apache.avro.generic.GenericContainer",
          "org.apache.avro.specific.SpecificRecord");

  private SchemaTypes() {}

  /**
   * Whether {@code type} is (or is a generic type over) a Protobuf message or Avro record: those
   * have their own codecs, and Jackson would turn their internals into garbage.
   */
  static boolean isSchemaGenerated(Type type) {
    if (type instanceof ParameterizedType p) {
      for (Type arg : p.getActualTypeArguments()) {
        if (isSchemaGenerated(arg)) {
          return true;
        }
      }
      return isSchemaGenerated(p.getRawType());
    }
    if (!(type instanceof Class<?> c)) {
      return false;
    }
    Deque<Class<?>> todo = new ArrayDeque<>();
    todo.add(c);
    while (!todo.isEmpty()) {
      Class<?> k = todo.poll();
      if (ROOTS.contains(k.getName())) {
        return true;
      }
      if (k.getSuperclass() != null) {
        todo.add(k.getSuperclass());
      }
      for (Class<?> i : k.getInterfaces()) {
        todo.add(i);
      }
    }
    return false;
  }
}
