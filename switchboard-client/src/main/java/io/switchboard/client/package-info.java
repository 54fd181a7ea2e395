/** The Java SDK. Filled by the server/client issue. */
package io.switchboard.client;
