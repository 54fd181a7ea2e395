package io.switchboard.spi.security;

import io.switchboard.broker.Broker;
import io.switchboard.broker.consumer.ConsumerConfig;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.SwitchboardException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * The subject rule of whole-stream reads (issue 18): a message read out of a stream reaches a
 * principal only if it may {@link Permission#SUBSCRIBE} to the message's subject, as a live
 * subscription would get it. {@link Permission#CONSUME} on {@code STREAM.$read} or {@code
 * STREAM.CONSUMER} opens the stream; the subject rules decide what of it is read.
 *
 * <p>Two ways to apply it, chosen per path (docs/security.md):
 *
 * <ul>
 *   <li><b>Reads without a consumer</b> (native READ, READ_SUBJECT, LAST; HTTP reads, SSE and
 *       WebSocket follow; gRPC Read, ReadSubject): the messages are decoded one by one, so a
 *       message whose subject may not be read is skipped and counted ({@link Authorizer#skipped});
 *       the read's next offset moves past it.
 *   <li><b>Consumers</b> (fetch, push, consumer event streams, gRPC Consume) and <b>Kafka Fetch</b>
 *       (record batches served byte for byte): skipping is not possible without changing state — a
 *       consumer's skipped message would stay unacknowledged and come back, or would have to be
 *       acknowledged on the principal's behalf; a Kafka batch cannot be cut. These require {@link
 *       Decision#ALLOW} on everything the consumer or stream can hold ({@link #consumer}, {@link
 *       #stream}) and are refused otherwise.
 * </ul>
 *
 * <p>Decisions come from the connection's {@link Access} and its cache, so a rules change applies
 * at the next read. Confined to the connection's thread, as {@link Access}.
 */
public final class StreamReads {
  private StreamReads() {}

  /**
   * The {@link Permission#SUBSCRIBE} decision over all of {@code patterns}: ALLOW when every one is
   * wholly allowed, DENY when none of them has anything allowed, FILTER otherwise.
   */
  public static Decision decideAll(Access access, List<String> patterns) {
    boolean allAllowed = true;
    boolean anyAdmitted = false;
    for (String p : patterns) {
      Decision d = access.decide(Permission.SUBSCRIBE, p);
      allAllowed &= d == Decision.ALLOW;
      anyAdmitted |= d.admits();
    }
    return allAllowed ? Decision.ALLOW : anyAdmitted ? Decision.FILTER : Decision.DENY;
  }

  /**
   * The decision over everything {@code stream} holds (its subject patterns).
   *
   * @throws SwitchboardException STREAM_NOT_FOUND
   */
  public static Decision stream(Access access, Broker broker, String stream) {
    return decideAll(access, broker.streamConfig(stream).subjects());
  }

  /**
   * The decision over what a consumer delivers: its filter's subjects within the stream's. Both
   * hold at least what it delivers, so either being ALLOW allows it and either being DENY denies.
   *
   * @throws SwitchboardException STREAM_NOT_FOUND, CONSUMER_NOT_FOUND
   */
  public static Decision consumer(Access access, Broker broker, String stream, String consumer) {
    ConsumerConfig c = broker.consumerConfig(stream, consumer);
    Decision whole = stream(access, broker, stream);
    if (whole != Decision.FILTER || c.filter() == null || c.filter().isEmpty()) {
      return whole;
    }
    return access.decide(Permission.SUBSCRIBE, c.filter());
  }

  /**
   * Throws unless the principal may read everything {@code consumer} can deliver.
   *
   * @throws SwitchboardException PERMISSION_DENIED naming what is not wholly readable;
   *     STREAM_NOT_FOUND, CONSUMER_NOT_FOUND
   */
  public static void checkConsumer(Access access, Broker broker, String stream, String consumer) {
    if (consumer(access, broker, stream, consumer) != Decision.ALLOW) {
      throw notWhole(access, stream + "'s consumer " + consumer);
    }
  }

  /** The refusal of a read that needs all of {@code what}'s subjects. */
  public static SwitchboardException notWhole(Access access, String what) {
    return SwitchboardException.of(
        ErrorCode.PERMISSION_DENIED,
        access.principal().id(),
        Permission.SUBSCRIBE.wireName(),
        "every subject of "
            + what
            + " (it holds subjects this principal may not read; read without a consumer, or"
            + " use a consumer filtered to readable subjects)");
  }

  /**
   * Whether a message on {@code subject} read out of a stream may be handed on; counts it as
   * skipped when not.
   */
  public static boolean readable(Access access, Decision whole, String subject) {
    if (whole == Decision.ALLOW || access.allows(Permission.SUBSCRIBE, subject)) {
      return true;
    }
    access.skipped(1);
    return false;
  }

  /**
   * {@code items} without those whose subject may not be read (counted as skipped); the same list
   * when {@code whole} is ALLOW or nothing is skipped.
   *
   * @param whole the decision over the stream ({@link #stream}), or null to check each message
   */
  public static <T> List<T> readable(
      Access access, Decision whole, List<T> items, Function<? super T, String> subjectOf) {
    if (whole == Decision.ALLOW || items.isEmpty()) {
      return items;
    }
    List<T> kept = null;
    for (int i = 0; i < items.size(); i++) {
      T item = items.get(i);
      boolean ok =
          whole != Decision.DENY && access.allows(Permission.SUBSCRIBE, subjectOf.apply(item));
      if (!ok && kept == null) {
        kept = new ArrayList<>(items.subList(0, i));
      } else if (ok && kept != null) {
        kept.add(item);
      }
    }
    if (kept == null) {
      return items;
    }
    access.skipped(items.size() - kept.size());
    return kept;
  }
}
