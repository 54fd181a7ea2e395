package io.switchboard.services.codec;

import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The codecs a {@code Services} knows, by content type. Immutable and thread-safe: {@link
 * #with(Codec)} returns a new instance.
 */
public final class Codecs {
  private static final Logger LOG = LoggerFactory.getLogger(Codecs.class);

  private final Map<String, Codec> byContentType;

  private Codecs(Map<String, Codec> byContentType) {
    this.byContentType = Collections.unmodifiableMap(byContentType);
  }

  /** No codecs at all. */
  public static Codecs none() {
    return new Codecs(new LinkedHashMap<>());
  }

  /**
   * Every codec on the class path ({@link ServiceLoader}): JSON always; Protobuf, Avro and
   * MessagePack when their libraries are present (they are optional dependencies of
   * switchboard-services, so an application brings the ones it uses).
   */
  public static Codecs load() {
    Map<String, Codec> found = new LinkedHashMap<>();
    Iterator<Codec> it = ServiceLoader.load(Codec.class, Codecs.class.getClassLoader()).iterator();
    while (true) {
      try {
        if (!it.hasNext()) {
          break;
        }
        Codec c = it.next();
        found.putIfAbsent(c.contentType(), c);
      } catch (ServiceConfigurationError | LinkageError e) {
        // A codec whose library is missing: the application does not use that codec.
        LOG.debug("codec skipped: {}", e.toString());
      }
    }
    return new Codecs(found);
  }

  /** These codecs plus {@code codec} (replacing one with the same content type). */
  public Codecs with(Codec codec) {
    Map<String, Codec> copy = new LinkedHashMap<>(byContentType);
    copy.put(codec.contentType(), codec);
    return new Codecs(copy);
  }

  /** The codec for {@code contentType}, or null. */
  public Codec get(String contentType) {
    return contentType == null ? null : byContentType.get(contentType);
  }

  /** The content types known, in registration order. */
  public java.util.Set<String> contentTypes() {
    return byContentType.keySet();
  }
}
