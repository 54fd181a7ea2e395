/** The MQTT 3.1.1 and 5.0 front end (issue #6). */
package io.switchboard.mqtt;
