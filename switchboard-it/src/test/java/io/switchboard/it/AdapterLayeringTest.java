package io.switchboard.it;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import io.switchboard.broker.live.LiveBus;
import io.switchboard.broker.live.LiveBusConfig;
import io.switchboard.core.Clock;
import io.switchboard.core.Message;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Front ends (adapters) compile against switchboard-spi and the broker's API only
 * (docs/architecture.md): the module rules (maven-enforcer, each pom) keep the server and other
 * front ends off their class path; these rules work at package level, where a module rule cannot
 * see, on every front end this module has (all of them, as the command line). A new front end adds
 * its package to {@link #ADAPTERS}.
 */
class AdapterLayeringTest {
  static final String[] ADAPTERS = {
    "io.switchboard.nativ..",
    "io.switchboard.http..",
    "io.switchboard.mqtt..",
    "io.switchboard.kafka..",
    "io.switchboard.amqp..",
    "io.switchboard.grpc.."
  };

  /** Broker internals: the engine's agents, catalogue and stores. */
  static final Set<String> BROKER_INTERNALS =
      Set.of(
          "io.switchboard.broker.stream.PartitionAgent",
          "io.switchboard.broker.stream.AgentRunner",
          "io.switchboard.broker.stream.StreamCatalog",
          "io.switchboard.broker.stream.DelayStore",
          "io.switchboard.broker.stream.ProducerStates",
          "io.switchboard.broker.consumer.ConsumerAgent",
          "io.switchboard.broker.consumer.ConsumerManager",
          "io.switchboard.broker.group.GroupCoordinator");

  static JavaClasses adapters;

  @BeforeAll
  static void importAdapters() {
    adapters =
        new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages(
                "io.switchboard.nativ",
                "io.switchboard.http",
                "io.switchboard.mqtt",
                "io.switchboard.kafka",
                "io.switchboard.amqp",
                "io.switchboard.grpc");
  }

  @Test
  void adaptersDoNotUseTheLogTheServerNorSecurityInternals() {
    noClasses()
        .that()
        .resideInAnyPackage(ADAPTERS)
        .should()
        .dependOnClassesThat(
            JavaClass.Predicates.resideInAnyPackage(
                "io.switchboard.log..", "io.switchboard.server..", "io.switchboard.security.."))
        .because(
            "log batches, the process and security's implementation are not the adapter API"
                + " (security is reached through io.switchboard.spi.security)")
        .check(adapters);
  }

  @Test
  void adaptersDoNotUseBrokerInternals() {
    DescribedPredicate<JavaClass> internal =
        DescribedPredicate.describe(
            "are broker internals " + BROKER_INTERNALS,
            c -> BROKER_INTERNALS.contains(c.getName().replaceFirst("\\$.*", "")));
    noClasses()
        .that()
        .resideInAnyPackage(ADAPTERS)
        .should()
        .dependOnClassesThat(internal)
        .because("sentinels are in PublishOptions, header names in StoredHeaders")
        .check(adapters);
  }

  @Test
  void adaptersDoNotBypassStreamsThroughTheLiveBus() {
    noClasses()
        .that()
        .resideInAnyPackage(ADAPTERS)
        .should()
        .callMethod(LiveBus.class, "publish", Message.class)
        .orShould()
        .callConstructor(LiveBus.class, LiveBusConfig.class, Clock.class)
        .orShould()
        .callMethod(LiveBus.class, "close")
        .because(
            "a publish goes through Broker.publish (streams, bindings); the bus is the broker's")
        .check(adapters);
  }

  @Test
  void adaptersDoNotKnowEachOther() {
    for (String self : ADAPTERS) {
      String[] others =
          java.util.Arrays.stream(ADAPTERS).filter(a -> !a.equals(self)).toArray(String[]::new);
      noClasses()
          .that()
          .resideInAPackage(self)
          .should()
          .dependOnClassesThat()
          .resideInAnyPackage(others)
          .check(adapters);
    }
  }
}
