// The certificate NGINX needs before it accepts a TLS `listen` in a server whose real certificate
// comes from the agent's store (listen-https-sni.conf, the default server with the Lua module). It is
// never served: certificates.lua replaces it at every handshake, or refuses the handshake. So its
// key is no secret, and it ships here, a constant, instead of being made at every start (Node
// cannot make an X.509 certificate, and the image need not have openssl).
import type { PrefixLayout } from './layout.ts';
import type { PlaceholderPaths } from '../render/skeleton.ts';

const CERT = `
-----BEGIN CERTIFICATE-----
MIIBqjCCAVGgAwIBAgIUB5c2GBbO7l21mBNresPMafrT14swCgYIKoZIzj0EAwIw
KjEoMCYGA1UEAwwfd2hhcmYgcGxhY2Vob2xkZXIsIG5ldmVyIHNlcnZlZDAgFw0y
NjEyMDcxNTIwNDdaGA8yMTI2MTExMzE1MjA0N1owKjEoMCYGA1UEAwwfd2hhcmYg
cGxhY2Vob2xkZXIsIG5ldmVyIHNlcnZlZDBZMBMGByqGSM49AgEGCCqGSM49AwEH
A0IABB4pfXCOax50uA4DPmfsaBLi0xxD9sihAajer7i63C7w47ZYtSjqHXeEFvuk
elpxbrycDRk7JBUCzySnDKyFxNijUzBRMB0GA1UdDgQWBBS2dq0xoZ1UK6djfCj7
UEex1yHTqzAfBgNVHSMEGDAWgBS2dq0xoZ1UK6djfCj7UEex1yHTqzAPBgNVHRMB
Af8EBTADAQH/MAoGCCqGSM49BAMCA0cAMEQCIH9a4GlwJDuwcT+CaBNMQBrEw6R1
/9DikMaiNk8sIlJNAiA3oy5Q3IAG2qBbUqQFjQYSqGYtZZI6AHNRWvRq9GW+mQ==
-----END CERTIFICATE-----
`.trimStart();

const KEY = `
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgCAWIG4cUUpbtRse7
q/R8l0jMWkECcoTG0Y5Qeb3VNHGhRANCAAQeKX1wjmsedLgOAz5n7GgS4tMcQ/bI
oQGo3q+4utwu8OO2WLUo6h13hBb7pHpacW68nA0ZOyQVAs8kpwyshcTY
-----END PRIVATE KEY-----
`.trimStart();

/** Writes the placeholder into the agent's private directory (NGINX's master reads it there). */
export async function writePlaceholderCertificate(layout: PrefixLayout, paths: PlaceholderPaths): Promise<void> {
  await layout.writeAtomic(paths.cert, CERT, 0o600);
  await layout.writeAtomic(paths.key, KEY, 0o600);
}
