/** The HTTP front end (issue #5): REST, JSON-RPC, Server-Sent Events, WebSocket and operations. */
package io.switchboard.http;
