package io.switchboard.services;

import io.switchboard.client.SwitchboardClientException;
import io.switchboard.core.ErrorCode;
import io.switchboard.core.Header;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Conversions between the client's headers and the services layer's name → value maps. */
final class Wire {
  private Wire() {}

  /** The last value of each header, as UTF-8 text (headers without a value are left out). */
  static Map<String, String> read(List<Header> headers) {
    Map<String, String> out = new LinkedHashMap<>();
    for (Header h : headers) {
      if (h.value() != null) {
        out.put(h.key(), new String(h.value(), StandardCharsets.UTF_8));
      }
    }
    return out;
  }

  static List<Header> write(Map<String, String> headers) {
    List<Header> out = new ArrayList<>(headers.size());
    for (Map.Entry<String, String> e : headers.entrySet()) {
      out.add(new Header(e.getKey(), e.getValue().getBytes(StandardCharsets.UTF_8)));
    }
    return out;
  }

  /** The headers of an error reply for {@code e}. */
  static List<Header> error(SwitchboardClientException e) {
    Map<String, String> h = new LinkedHashMap<>();
    h.put(ServiceHeaders.ERROR_CODE, Integer.toString(e.code()));
    h.put(ServiceHeaders.ERROR, e.detail());
    return write(h);
  }

  /** The error an error reply carries, or null when {@code headers} are not an error's. */
  static SwitchboardClientException errorOf(Map<String, String> headers) {
    String code = headers.get(ServiceHeaders.ERROR_CODE);
    if (code == null) {
      return null;
    }
    String message = headers.getOrDefault(ServiceHeaders.ERROR, "");
    try {
      return new SwitchboardClientException(Integer.parseInt(code.trim()), message);
    } catch (NumberFormatException e) {
      return new SwitchboardClientException(
          ErrorCode.INTERNAL.number(),
          ErrorCode.INTERNAL.format("error reply with code \"" + code + "\": " + message));
    }
  }

  /**
   * The deadline of a request: {@link CallContext#NO_DEADLINE} without the header, else its epoch
   * milliseconds.
   *
   * @throws SwitchboardClientException INVALID_DEADLINE when it is not a decimal number
   */
  static long deadlineOf(Map<String, String> headers) {
    String text = headers.get(ServiceHeaders.DEADLINE);
    if (text == null) {
      return CallContext.NO_DEADLINE;
    }
    try {
      long ms = Long.parseLong(text.trim());
      if (ms < 0) {
        throw new NumberFormatException();
      }
      return ms;
    } catch (NumberFormatException e) {
      throw Errors.of(ErrorCode.INVALID_DEADLINE, text);
    }
  }
}
