"""Drives Switchboard's AMQP front end with pika (Debian python3-pika); prints OK when all held.

Usage: python3 pika_client.py PORT
"""
import sys

import pika

port = int(sys.argv[1])
params = pika.ConnectionParameters(host="127.0.0.1", port=port, heartbeat=30,
                                   credentials=pika.PlainCredentials("guest", "guest"))
conn = pika.BlockingConnection(params)
ch = conn.channel()
ch.confirm_delivery()

ch.queue_declare(queue="pika-q", durable=True)
for i in range(3):
    ch.basic_publish(exchange="", routing_key="pika-q", body=("m%d" % i).encode(),
                     properties=pika.BasicProperties(content_type="text/plain", delivery_mode=2,
                                                     headers={"n": i}),
                     mandatory=True)

method, props, body = ch.basic_get("pika-q", auto_ack=False)
assert body == b"m0", body
assert props.content_type == "text/plain", props
assert props.headers == {"n": 0}, props.headers
assert not method.redelivered
ch.basic_nack(method.delivery_tag, requeue=True)

seen = []
redelivered = []


def on_message(channel, method, props, body):
    seen.append(body)
    redelivered.append(method.redelivered)
    channel.basic_ack(method.delivery_tag)
    if len(seen) == 3:
        channel.stop_consuming()


ch.basic_qos(prefetch_count=1)
tag = ch.basic_consume("pika-q", on_message)
conn.call_later(10, ch.stop_consuming)
ch.start_consuming()
assert sorted(seen) == [b"m0", b"m1", b"m2"], seen
assert redelivered[seen.index(b"m0")], redelivered

ch.exchange_declare("pika-topic", exchange_type="topic")
ch.queue_declare(queue="pika-bound", auto_delete=False)
ch.queue_bind("pika-bound", "pika-topic", routing_key="a.*")
ch.basic_publish("pika-topic", "a.b", b"routed")
ch.basic_publish("pika-topic", "b.a", b"not routed")
method, props, body = ch.basic_get("pika-bound", auto_ack=True)
assert body == b"routed" and method.routing_key == "a.b" and method.exchange == "pika-topic", method
assert ch.basic_get("pika-bound", auto_ack=True) == (None, None, None)

ch.basic_publish("pika-topic", "a.c", b"to purge")
assert ch.queue_purge("pika-bound").method.message_count == 1
ch.queue_unbind("pika-bound", "pika-topic", routing_key="a.*")
ch.queue_delete("pika-bound")
ch.queue_delete("pika-q")
ch.exchange_delete("pika-topic")

try:
    ch.basic_publish("pika-topic", "a.b", b"x")
    raise AssertionError("publish to a deleted exchange went through")
except pika.exceptions.ChannelClosedByBroker as e:
    assert e.reply_code == 404, e

conn.close()
print("OK")
