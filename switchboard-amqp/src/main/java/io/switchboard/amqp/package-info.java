/**
 * The AMQP 0-9-1 front end (docs/amqp.md): RabbitMQ's clients and tools against Switchboard. Its
 * own frame codec on Netty ({@link AmqpFrameDecoder}), method arguments described once as data
 * ({@link AmqpMethods}); exchanges and routing keys map onto subjects, a queue is a work-queue
 * stream with a shared consumer, and queue bindings are the broker's durable bindings (owner
 * "amqp").
 */
package io.switchboard.amqp;
