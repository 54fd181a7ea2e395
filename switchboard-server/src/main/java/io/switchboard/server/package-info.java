/** The server process: configuration, listeners, front ends. Filled by the server issue. */
package io.switchboard.server;
