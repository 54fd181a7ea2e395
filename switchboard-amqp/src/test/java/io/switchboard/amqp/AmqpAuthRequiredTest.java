package io.switchboard.amqp;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.rabbitmq.client.AuthenticationFailureException;
import com.rabbitmq.client.ConnectionFactory;
import io.switchboard.server.SwitchboardServer;
import io.switchboard.server.config.ConfigCatalogue;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Until AMQP authenticates against the security service, a server that requires authentication lets
 * nobody in over AMQP: the login is refused with 403, which the Java client reports as an
 * authentication failure.
 */
@Timeout(value = 1, unit = TimeUnit.MINUTES)
class AmqpAuthRequiredTest {
  @TempDir Path dir;

  @Test
  void everyLoginIsRefusedWhenTheServerRequiresAuthentication() throws Exception {
    try (SwitchboardServer server =
        SwitchboardServer.startOnFreePorts(
            Map.of(ConfigCatalogue.DATA_DIR.name(), dir.toString(), "auth.required", "true"))) {
      server.security().addUser("app", "app-pw", "test");
      ConnectionFactory f = new ConnectionFactory();
      f.setHost("127.0.0.1");
      f.setPort(server.addresses().get("amqp").getPort());
      f.setAutomaticRecoveryEnabled(false);
      f.setUsername("app");
      f.setPassword("app-pw");
      assertThatThrownBy(f::newConnection)
          .isInstanceOf(AuthenticationFailureException.class)
          .hasMessageContaining("ACCESS_REFUSED");
    }
  }
}
