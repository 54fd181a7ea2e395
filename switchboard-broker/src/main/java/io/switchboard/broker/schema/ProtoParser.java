package io.switchboard.broker.schema;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Parses one {@code .proto} file into a {@link ProtobufSchema}: {@code syntax}, {@code package},
 * messages (nested), enums, fields, {@code map<,>} fields and oneofs. Options, reserved ranges,
 * extensions and services are read and skipped. Imports other than Google's well-known types are
 * refused (schema references are not supported). Confined to one parse.
 *
 * <p>The canonical text is the source re-laid: comments dropped, one statement per line, two-space
 * indentation — two files that differ only in layout and comments are one schema.
 */
final class ProtoParser {
  /** Tokens a file may have at most: a bound on the work of one registration. */
  static final int MAX_TOKENS = 200_000;

  private static final Set<String> SCALARS =
      Set.of(
          "double",
          "float",
          "int32",
          "int64",
          "uint32",
          "uint64",
          "sint32",
          "sint64",
          "fixed32",
          "fixed64",
          "sfixed32",
          "sfixed64",
          "bool",
          "string",
          "bytes");

  private final List<String> tokens;
  private int at;
  private String syntax = "proto2";
  private String pkg = "";
  private final Map<String, ProtobufSchema.MessageDef> messages = new LinkedHashMap<>();
  private final Set<String> enums = new HashSet<>();
  private final List<String> topLevel = new ArrayList<>();

  /** Fields as written, resolved once every name is known. */
  private record Pending(
      String message, String scope, String rawType, ProtobufSchema.Field field) {}

  private final List<Pending> pending = new ArrayList<>();

  ProtoParser(String text) {
    this.tokens = tokenize(text);
  }

  ProtobufSchema parse() {
    if (peek("syntax")) {
      next();
      expect("=");
      String s = unquote(next());
      if (!s.equals("proto2") && !s.equals("proto3")) {
        throw new IllegalArgumentException("syntax must be proto2 or proto3, not " + s);
      }
      syntax = s;
      expect(";");
    }
    while (at < tokens.size()) {
      String t = next();
      switch (t) {
        case "package" -> {
          pkg = next();
          expect(";");
        }
        case "import" -> {
          String file = next();
          if (file.equals("public") || file.equals("weak")) {
            file = next();
          }
          file = unquote(file);
          if (!file.startsWith("google/protobuf/")) {
            throw new IllegalArgumentException(
                "import \""
                    + file
                    + "\": schema references are not supported; only Google's"
                    + " well-known types may be imported");
          }
          expect(";");
        }
        case "option" -> skipStatement();
        case "message" -> topLevel.add(message(pkg, null));
        case "enum" -> enumDef(pkg);
        case "service", "extend" -> {
          next();
          skipBlock();
        }
        case ";" -> {}
        default -> throw new IllegalArgumentException("unexpected \"" + t + "\" at top level");
      }
    }
    Map<String, ProtobufSchema.MessageDef> resolved = new LinkedHashMap<>();
    for (ProtobufSchema.MessageDef m : messages.values()) {
      resolved.put(
          m.name(), new ProtobufSchema.MessageDef(m.name(), new LinkedHashMap<>(), m.nested()));
    }
    for (Pending p : pending) {
      ProtobufSchema.Field f = p.field();
      String type = f.type();
      String kind = "scalar";
      if (f.map()) {
        kind = "message";
      } else if (!SCALARS.contains(p.rawType())) {
        type = resolve(p.rawType(), p.scope());
        kind = enums.contains(type) ? "enum" : "message";
      }
      ProtobufSchema.Field done =
          new ProtobufSchema.Field(f.name(), f.number(), f.label(), type, f.oneof(), f.map(), kind);
      if (resolved.get(p.message()).fields().put(done.number(), done) != null) {
        throw new IllegalArgumentException(
            "message " + p.message() + " uses field number " + done.number() + " twice");
      }
    }
    Map<String, ProtobufSchema.MessageDef> frozen = new LinkedHashMap<>();
    resolved.forEach(
        (k, v) ->
            frozen.put(
                k,
                new ProtobufSchema.MessageDef(
                    v.name(), Map.copyOf(v.fields()), List.copyOf(v.nested()))));
    return ProtobufSchema.of(
        canonical(), syntax, pkg, frozen, Set.copyOf(enums), List.copyOf(topLevel));
  }

  /** Parses a message body after {@code message}; returns its full name. */
  private String message(String scope, String parent) {
    String name = ident(next());
    String full = scope.isEmpty() ? name : scope + "." + name;
    if (messages.containsKey(full) || enums.contains(full)) {
      throw new IllegalArgumentException(full + " is declared twice");
    }
    List<String> nested = new ArrayList<>();
    messages.put(full, new ProtobufSchema.MessageDef(full, Map.of(), nested));
    expect("{");
    while (!peek("}")) {
      String t = next();
      switch (t) {
        case "message" -> nested.add(message(full, full));
        case "enum" -> enumDef(full);
        case "option", "reserved", "extensions" -> skipStatement();
        case "extend" -> {
          next();
          skipBlock();
        }
        case "oneof" -> {
          String oneof = ident(next());
          expect("{");
          while (!peek("}")) {
            if (peek("option")) {
              next();
              skipStatement();
            } else {
              field(full, null, next(), oneof);
            }
          }
          expect("}");
        }
        case ";" -> {}
        case "optional", "required", "repeated" -> field(full, t, next(), null);
        default -> field(full, null, t, null);
      }
    }
    expect("}");
    return full;
  }

  private void field(String message, String label, String type, String oneof) {
    boolean map = false;
    String rawType = type;
    if (type.equals("map")) {
      expect("<");
      String key = next();
      expect(",");
      String value = next();
      expect(">");
      map = true;
      rawType = "map<" + key + "," + value + ">";
      label = "repeated";
    } else if (type.equals("group")) {
      throw new IllegalArgumentException("groups are not supported (" + message + ")");
    }
    String name = ident(next());
    expect("=");
    int number;
    try {
      number = Integer.parseInt(next());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("field " + message + "." + name + " needs a number");
    }
    if (number < 1 || number > 536_870_911 || (number >= 19_000 && number <= 19_999)) {
      throw new IllegalArgumentException(
          "field " + message + "." + name + ": number " + number + " is not allowed");
    }
    if (peek("[")) {
      skipUntil("]");
    }
    expect(";");
    if (syntax.equals("proto3") && "required".equals(label)) {
      throw new IllegalArgumentException("proto3 has no required fields (" + message + ")");
    }
    pending.add(
        new Pending(
            message,
            message,
            rawType,
            new ProtobufSchema.Field(name, number, label, rawType, oneof, map, "")));
  }

  private void enumDef(String scope) {
    String name = ident(next());
    String full = scope.isEmpty() ? name : scope + "." + name;
    if (messages.containsKey(full) || !enums.add(full)) {
      throw new IllegalArgumentException(full + " is declared twice");
    }
    expect("{");
    while (!peek("}")) {
      skipStatement();
    }
    expect("}");
  }

  /** A type name seen in {@code scope}: innermost scope first, as protoc resolves it. */
  private String resolve(String raw, String scope) {
    if (raw.startsWith(".")) {
      String full = raw.substring(1);
      if (messages.containsKey(full)
          || enums.contains(full)
          || full.startsWith("google.protobuf.")) {
        return full;
      }
      throw new IllegalArgumentException("unknown type " + raw);
    }
    String s = scope;
    while (true) {
      String candidate = s.isEmpty() ? raw : s + "." + raw;
      if (messages.containsKey(candidate) || enums.contains(candidate)) {
        return candidate;
      }
      if (s.isEmpty()) {
        break;
      }
      int dot = s.lastIndexOf('.');
      s = dot < 0 ? "" : s.substring(0, dot);
    }
    if (raw.startsWith("google.protobuf.")) {
      return raw; // a well-known type: a message whose fields are not checked here
    }
    throw new IllegalArgumentException("unknown type " + raw + " (in " + scope + ")");
  }

  // ------------------------------------------------------------------ tokens

  private boolean peek(String t) {
    return at < tokens.size() && tokens.get(at).equals(t);
  }

  private String next() {
    if (at >= tokens.size()) {
      throw new IllegalArgumentException("the file ends too early");
    }
    return tokens.get(at++);
  }

  private void expect(String t) {
    String got = next();
    if (!got.equals(t)) {
      throw new IllegalArgumentException("expected \"" + t + "\" but found \"" + got + "\"");
    }
  }

  private static String ident(String t) {
    if (!t.matches("[A-Za-z_][A-Za-z0-9_]*")) {
      throw new IllegalArgumentException("\"" + t + "\" is not a name");
    }
    return t;
  }

  private static String unquote(String t) {
    if (t.length() < 2 || (t.charAt(0) != '"' && t.charAt(0) != '\'')) {
      throw new IllegalArgumentException("expected a string, found " + t);
    }
    return t.substring(1, t.length() - 1);
  }

  /** Skips to the end of a statement, over any block or brackets it has. */
  private void skipStatement() {
    int depth = 0;
    while (true) {
      String t = next();
      if (t.equals("{") || t.equals("[") || t.equals("(")) {
        depth++;
      } else if (t.equals("}") || t.equals("]") || t.equals(")")) {
        depth--;
        if (depth == 0 && t.equals("}")) {
          return; // an option whose value was a block ends with it
        }
      } else if (t.equals(";") && depth == 0) {
        return;
      }
    }
  }

  private void skipUntil(String close) {
    int depth = 0;
    while (true) {
      String t = next();
      if (t.equals("[") || t.equals("{") || t.equals("(")) {
        depth++;
      } else if (t.equals("]") || t.equals("}") || t.equals(")")) {
        depth--;
        if (depth == 0 && t.equals(close)) {
          return;
        }
      }
    }
  }

  private void skipBlock() {
    while (!peek("{")) {
      next();
    }
    skipUntil("}");
  }

  private static List<String> tokenize(String s) {
    List<String> out = new ArrayList<>();
    int i = 0;
    int n = s.length();
    while (i < n) {
      char c = s.charAt(i);
      if (Character.isWhitespace(c)) {
        i++;
      } else if (c == '/' && i + 1 < n && s.charAt(i + 1) == '/') {
        while (i < n && s.charAt(i) != '\n') {
          i++;
        }
      } else if (c == '/' && i + 1 < n && s.charAt(i + 1) == '*') {
        int close = s.indexOf("*/", i + 2);
        if (close < 0) {
          throw new IllegalArgumentException("a /* comment is not closed");
        }
        i = close + 2;
      } else if (c == '"' || c == '\'') {
        int j = i + 1;
        while (j < n && s.charAt(j) != c) {
          j += s.charAt(j) == '\\' ? 2 : 1;
        }
        if (j >= n) {
          throw new IllegalArgumentException("a string is not closed");
        }
        out.add(s.substring(i, j + 1));
        i = j + 1;
      } else if (Character.isLetterOrDigit(c) || c == '_' || c == '.' || c == '-' || c == '+') {
        int j = i;
        while (j < n) {
          char d = s.charAt(j);
          if (Character.isLetterOrDigit(d) || d == '_' || d == '.' || d == '-' || d == '+') {
            j++;
          } else {
            break;
          }
        }
        out.add(s.substring(i, j));
        i = j;
      } else if ("{}[]()<>=;,:".indexOf(c) >= 0) {
        out.add(String.valueOf(c));
        i++;
      } else {
        throw new IllegalArgumentException("unexpected character '" + c + "'");
      }
      if (out.size() > MAX_TOKENS) {
        throw new IllegalArgumentException("more than " + MAX_TOKENS + " tokens");
      }
    }
    return out;
  }

  /** The tokens re-laid: one statement per line, two-space indentation. */
  private String canonical() {
    StringBuilder b = new StringBuilder();
    int indent = 0;
    boolean lineStart = true;
    for (int i = 0; i < tokens.size(); i++) {
      String t = tokens.get(i);
      if (t.equals("}")) {
        indent--;
      }
      if (lineStart) {
        b.append("  ".repeat(Math.max(0, indent)));
      } else if (!t.equals(";")
          && !t.equals(",")
          && !t.equals(">")
          && !t.equals("]")
          && !t.equals(")")
          && !prevGlue(tokens.get(i - 1))) {
        b.append(' ');
      }
      b.append(t);
      lineStart = t.equals(";") || t.equals("{") || t.equals("}");
      if (t.equals("{")) {
        indent++;
      }
      if (lineStart) {
        b.append('\n');
      }
    }
    return b.toString();
  }

  private static boolean prevGlue(String prev) {
    return prev.equals("<") || prev.equals("[") || prev.equals("(");
  }
}
