// A Node.js client through Nodemailer (npm), one of the recording matrix's clients: it
// sends one message over 587 with STARTTLS required, logging in when given a user.
//   node nodemailer_client.js HOST --port P --sender S --rcpt R --size N --tls-max 1.2|1.3
//        [--helo NAME] [--ciphers LIST] [--user U --password P]
// NODE_PATH must name the node_modules that holds nodemailer.
'use strict';
const nodemailer = require('nodemailer');

const args = process.argv.slice(2);
const host = args.shift();
const opt = {};
while (args.length) {
  const k = args.shift().replace(/^--/, '');
  opt[k] = args.shift();
}
const tls = {
  rejectUnauthorized: false,
  maxVersion: opt['tls-max'] === '1.2' ? 'TLSv1.2' : 'TLSv1.3',
};
if (opt.ciphers) tls.ciphers = opt.ciphers;
const transport = nodemailer.createTransport({
  host,
  port: Number(opt.port || 587),
  secure: false,
  requireTLS: true,
  name: opt.helo || 'MX-4070N.domain.local',
  tls,
  auth: opt.user ? { user: opt.user, pass: opt.password } : undefined,
  connectionTimeout: 10000,
  socketTimeout: 10000,
});
const size = Number(opt.size || 2000);
const line = 'Scanned document page, as a copier sends it in base64 lines. ';
let text = '';
while (text.length < size) text += line + '\r\n';
transport.sendMail(
  { from: opt.sender, to: opt.rcpt, subject: 'Scan from MX-4070N', text },
  (err, info) => {
    if (err) {
      console.error(`nodemailer: ${err.message}`);
      process.exit(1);
    }
    console.log(`nodemailer: ${info.response}`);
  },
);
