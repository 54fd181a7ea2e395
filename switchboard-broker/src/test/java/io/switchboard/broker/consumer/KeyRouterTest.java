package io.switchboard.broker.consumer;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The key routing of keyed consumers, alone: rendezvous ownership, sticky group assignment. */
class KeyRouterTest {
  static long key(int i) {
    return KeyRouter.keyHash(
        ByteBuffer.wrap(("k" + i).getBytes(StandardCharsets.UTF_8)), "ignored when keyed");
  }

  @Test
  void aMemberJoiningTakesKeysOnlyForItselfAndLeavingGivesBackOnlyItsOwn() {
    List<String> three = List.of("a", "b", "c");
    List<String> four = List.of("a", "b", "c", "d");
    Map<String, Integer> load = new HashMap<>();
    for (int i = 0; i < 10_000; i++) {
      String before = KeyRouter.owner(key(i), three);
      String after = KeyRouter.owner(key(i), four);
      assertThat(after).isIn(before, "d"); // a key moves only to the new member
      load.merge(after, 1, Integer::sum);
      assertThat(KeyRouter.owner(key(i), three)).isEqualTo(before); // stable
    }
    assertThat(load.values()).allSatisfy(n -> assertThat(n).isBetween(2_000, 3_000));
  }

  @Test
  void theSubjectIsTheKeyWhenAMessageHasNone() {
    assertThat(KeyRouter.keyHash(null, "orders.1")).isEqualTo(KeyRouter.keyHash(null, "orders.1"));
    assertThat(KeyRouter.keyHash(null, "orders.1"))
        .isNotEqualTo(KeyRouter.keyHash(null, "orders.2"));
  }

  @Test
  void groupAssignmentIsBalancedAndSticky() {
    KeyRouter router = new KeyRouter(DeliveryMode.GROUP, 6, 1000);
    List<String> two = router.assign(List.of("a", "b"));
    assertThat(two).hasSize(6);
    assertThat(two.stream().filter("a"::equals).count()).isEqualTo(3);
    List<String> three = router.assign(List.of("a", "b", "c"));
    assertThat(three.stream().filter("c"::equals).count()).isEqualTo(2);
    int moved = 0;
    for (int p = 0; p < 6; p++) {
      if (!three.get(p).equals(two.get(p))) {
        moved++;
        assertThat(three.get(p)).isEqualTo("c"); // only what the newcomer needs moves, to it
      }
    }
    assertThat(moved).isEqualTo(2);
    List<String> back = router.assign(List.of("a", "c"));
    for (int p = 0; p < 6; p++) {
      if (!three.get(p).equals("b")) {
        assertThat(back.get(p)).isEqualTo(three.get(p)); // b's partitions alone are reassigned
      }
    }
  }

  @Test
  void liveMembersAreThoseSeenWithinAnAckTimeout() {
    KeyRouter router = new KeyRouter(DeliveryMode.KEY_SHARED, 1, 1000);
    router.seen("a", 0);
    router.seen("b", 500);
    assertThat(router.live("c", 1200)).containsExactly("b", "c");
    assertThat(router.forget("b")).isTrue();
    assertThat(router.forget("b")).isFalse();
    assertThat(router.live("c", 1300)).containsExactly("c");
  }
}
