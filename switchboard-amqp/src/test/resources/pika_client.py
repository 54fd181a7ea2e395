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

# Headers exchange, exchange-to-exchange binding, dead-lettering (a fresh channel: the last one
# was closed by the 404 above).
ch = conn.channel()
ch.confirm_delivery()
ch.exchange_declare("pika-headers", exchange_type="headers")
ch.exchange_declare("pika-front", exchange_type="fanout")
ch.exchange_bind(destination="pika-headers", source="pika-front")
ch.exchange_declare("pika-dlx", exchange_type="direct")
ch.queue_declare(queue="pika-dead")
ch.queue_bind("pika-dead", "pika-dlx", routing_key="dead")
ch.queue_declare(queue="pika-h", arguments={"x-dead-letter-exchange": "pika-dlx",
                                            "x-dead-letter-routing-key": "dead"})
ch.queue_bind("pika-h", "pika-headers", arguments={"x-match": "any", "kind": "a"})
ch.basic_publish("pika-front", "", b"kind a", properties=pika.BasicProperties(headers={"kind": "a"}))
ch.basic_publish("pika-front", "", b"kind b", properties=pika.BasicProperties(headers={"kind": "b"}))
method, props, body = ch.basic_get("pika-h", auto_ack=False)
assert body == b"kind a" and method.exchange == "pika-front", (method, body)
assert ch.basic_get("pika-h", auto_ack=True) == (None, None, None)
ch.basic_reject(method.delivery_tag, requeue=False)
dead = None
for _ in range(100):
    dead = ch.basic_get("pika-dead", auto_ack=True)
    if dead[0] is not None:
        break
    conn.sleep(0.1)
method, props, body = dead
assert body == b"kind a", dead
assert props.headers["x-death"][0]["reason"] == "rejected", props.headers
assert props.headers["x-death"][0]["queue"] == "pika-h", props.headers

# Transactions (pika's tx_select/tx_commit/tx_rollback) on a channel without confirms.
tx = conn.channel()
tx.tx_select()
tx.basic_publish("", "pika-dead", b"committed")
tx.tx_commit()
tx.basic_publish("", "pika-dead", b"rolled back")
tx.tx_rollback()
method, props, body = tx.basic_get("pika-dead", auto_ack=True)
assert body == b"committed", body
assert tx.basic_get("pika-dead", auto_ack=True) == (None, None, None)

conn.close()
print("OK")
