// A Node.js client of Switchboard's gRPC API with no .proto file: it checks health, lists the
// services through server reflection, loads the API from the reflected descriptors, then
// publishes, subscribes and consumes with acks. Prints one line per result; exits non-zero on error.
// Usage: node client.js 127.0.0.1:<port>
'use strict';
const grpc = require('@grpc/grpc-js');
const { GrpcReflection } = require('grpc-js-reflection-client');
const health = require('grpc-health-check');

const target = process.argv[2];
const creds = grpc.credentials.createInsecure();
const loaderOptions = { longs: String, enums: String, defaults: true, oneofs: true };

function unary(client, method, request) {
  return new Promise((resolve, reject) =>
    client[method](request, { deadline: Date.now() + 10000 }, (err, res) => (err ? reject(err) : resolve(res))));
}

async function api(reflection, symbol) {
  const descriptor = await reflection.getDescriptorBySymbol(symbol);
  const pkg = descriptor.getPackageObject(loaderOptions);
  return pkg.switchboard.v1;
}

async function main() {
  const Health = grpc.makeGenericClientConstructor(health.service, 'Health');
  const hc = new Health(target, creds);
  const status = await unary(hc, 'check', { service: '' });
  console.log('health ' + status.status);

  const reflection = new GrpcReflection(target, creds);
  const services = (await reflection.listServices()).sort();
  console.log('services ' + services.join(','));

  const v1 = await api(reflection, 'switchboard.v1.Publisher');
  const sub = await api(reflection, 'switchboard.v1.Subscriber');
  const publisher = new v1.Publisher(target, creds);
  const subscriber = new sub.Subscriber(target, creds);

  for (let i = 0; i < 5; i++) {
    const ack = await unary(publisher, 'Publish', {
      message: { subject: 'jobs.node', payload: Buffer.from('job' + i) },
    });
    console.log('published ' + ack.stream + ' ' + ack.offset + ' ' + ack.durability);
  }

  // Live subscription: publish until the subscriber sees one (it may not be registered yet).
  await new Promise((resolve, reject) => {
    const call = subscriber.Subscribe({ pattern: 'live.>' });
    let timer;
    call.on('data', (r) => {
      if (r.message) {
        console.log('subscribed ' + r.message.subject + ' ' + r.message.payload.toString());
        clearInterval(timer);
        call.cancel();
        resolve();
      }
    });
    call.on('error', (e) => {
      if (e.code !== grpc.status.CANCELLED) reject(e);
    });
    timer = setInterval(
      () => unary(publisher, 'Publish', { message: { subject: 'live.node', payload: Buffer.from('hello') } }).catch(reject),
      100);
  });

  // Durable consumer: open with credit 2, ack each delivery; 5 in all.
  await new Promise((resolve, reject) => {
    const call = subscriber.Consume();
    let acked = 0;
    call.on('data', (r) => {
      if (process.env.DEBUG_NODE) console.log('event ' + JSON.stringify(r));
      if (r.opened) {
        console.log('opened ' + r.opened.member.startsWith('grpc-'));
      } else if (r.delivery) {
        const d = r.delivery;
        call.write({ ack: { delivery_ids: [d.delivery_id] } });
        acked++;
        if (acked === 5) {
          console.log('consumed ' + acked);
          call.end();
        }
      }
    });
    call.on('error', reject);
    call.on('end', resolve);
    call.write({ open: { stream: 'jobs', consumer: 'workers', credit: 2 } });
  });
  console.log('done');
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error('error ' + (e && e.stack ? e.stack : e));
    process.exit(1);
  });
