package io.switchboard.services;

import io.switchboard.client.SwitchboardClientException;
import io.switchboard.core.ErrorCode;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Pattern;

/**
 * A service interface read by reflection: its name and its methods. Immutable, thread-safe.
 *
 * <p>Rules (each broken one is {@code INVALID_SERVICE_DEFINITION}): an interface; every abstract
 * method takes zero or one argument and returns {@code CompletableFuture<R>} (a call), {@code
 * ReplyStream<R>} (a streaming call) or {@code void} (one-way); method names are unique (no
 * overloads) and valid subject tokens.
 */
final class ServiceDescriptor {
  private static final Pattern TOKEN = Pattern.compile("[A-Za-z0-9_-]{1,64}");

  enum Kind {
    UNARY,
    STREAM,
    ONE_WAY
  }

  /**
   * One method.
   *
   * @param argType the argument's type, or null for none
   * @param resultType R of the return type ({@code Void} for one-way)
   */
  record MethodDescriptor(
      String name, Method method, Kind kind, Type argType, Type resultType, boolean idempotent) {}

  private final Class<?> type;
  private final String name;
  private final Map<String, MethodDescriptor> methods;

  private ServiceDescriptor(Class<?> type, String name, Map<String, MethodDescriptor> methods) {
    this.type = type;
    this.name = name;
    this.methods = methods;
  }

  private static final ClassValue<ServiceDescriptor> CACHE =
      new ClassValue<>() {
        @Override
        protected ServiceDescriptor computeValue(Class<?> type) {
          return read(type);
        }
      };

  static ServiceDescriptor of(Class<?> type) {
    return CACHE.get(type);
  }

  Class<?> type() {
    return type;
  }

  String name() {
    return name;
  }

  Map<String, MethodDescriptor> methods() {
    return methods;
  }

  MethodDescriptor method(String methodName) {
    return methods.get(methodName);
  }

  private static SwitchboardClientException invalid(Class<?> type, String why) {
    return new SwitchboardClientException(
        ErrorCode.INVALID_SERVICE_DEFINITION.number(),
        ErrorCode.INVALID_SERVICE_DEFINITION.format(type.getName(), why));
  }

  private static ServiceDescriptor read(Class<?> type) {
    if (!type.isInterface()) {
      throw invalid(type, "not an interface");
    }
    Service named = type.getAnnotation(Service.class);
    String name = named != null ? named.value() : type.getSimpleName();
    if (!TOKEN.matcher(name).matches()) {
      throw invalid(type, "name \"" + name + "\" is not one subject token ([A-Za-z0-9_-], ≤ 64)");
    }
    Map<String, MethodDescriptor> methods = new LinkedHashMap<>();
    for (Method m : type.getMethods()) {
      if (m.isDefault() || Modifier.isStatic(m.getModifiers())) {
        continue;
      }
      if (!TOKEN.matcher(m.getName()).matches()) {
        throw invalid(type, "method name " + m.getName() + " is not a subject token");
      }
      if (m.getParameterCount() > 1) {
        throw invalid(
            type, m.getName() + " takes " + m.getParameterCount() + " arguments, not 0 or 1");
      }
      Type arg = m.getParameterCount() == 1 ? m.getGenericParameterTypes()[0] : null;
      Kind kind;
      Type result;
      Class<?> raw = m.getReturnType();
      if (raw == void.class) {
        kind = Kind.ONE_WAY;
        result = Void.class;
      } else if (raw == CompletableFuture.class || raw == ReplyStream.class) {
        kind = raw == CompletableFuture.class ? Kind.UNARY : Kind.STREAM;
        if (!(m.getGenericReturnType() instanceof ParameterizedType p)) {
          throw invalid(type, m.getName() + " returns a raw " + raw.getSimpleName());
        }
        result = p.getActualTypeArguments()[0];
      } else {
        throw invalid(
            type,
            m.getName()
                + " returns "
                + raw.getSimpleName()
                + "; use CompletableFuture<R>,"
                + " ReplyStream<R> or void");
      }
      MethodDescriptor d =
          new MethodDescriptor(
              m.getName(), m, kind, arg, result, m.isAnnotationPresent(Idempotent.class));
      if (methods.put(m.getName(), d) != null) {
        throw invalid(type, "method " + m.getName() + " is overloaded");
      }
    }
    if (methods.isEmpty()) {
      throw invalid(type, "it has no methods");
    }
    return new ServiceDescriptor(type, name, Map.copyOf(methods));
  }
}
