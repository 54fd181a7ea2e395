/** The native wire format shared by server and client. Filled by the server/client issue. */
package io.switchboard.protocol;
