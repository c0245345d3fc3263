// The injection corpus: IngressNightmare-style payloads (CVE-2025-1974 and its siblings) that try
// to end an NGINX string or directive and add their own. Used against the filters directly, and
// against the model through every field of an Ingress.

/** IngressNightmare-style payloads: each tries to end a string or a directive and add its own. */
export const corpus: string[] = [
  // CVE-2025-24514 (auth-url), CVE-2025-1097 (auth-tls-match-cn), CVE-2025-1098 (mirror-target/-host).
  'http://example.com/#;\nload_module /tmp/evil.so;\n',
  'http://x/auth;}\nserver { location /pwn { return 200 pwned; }\n',
  'CN=abc #(\n){}\n }}\nssl_engine ../../../../../../proc/self/fd/1;\n#',
  'https://mirror.test/;}\nload_module /proc/self/fd/7;\n#',
  'mirror.test;\ninclude /etc/nginx/nginx.conf;',
  // Paths and hosts carrying separators, quotes, variables and Lua.
  '/foo;}\ninclude /etc/passwd;\nlocation /bar {',
  '/foo" ; load_module /tmp/x.so; #',
  "/foo' ; ssl_engine evil; #",
  '/a\\"; include /etc/shadow; #',
  'evil.test;}\nserver_name x',
  'app.test server_name evil.test',
  '/${lua_code}',
  '/x$request_body',
  '/x { content_by_lua_block { os.execute("id") } }',
  'content_by_lua_block {os.execute("touch /tmp/pwned")}',
  '/x\r\nadd_header X-Pwned 1;',
  '/x\u0000.so',
  '/x\u2028load_module /x.so;',
  'GET;POST',
  '10.0.0.0/8; allow all',
  '1m; load_module /x.so',
  'route; Path=/; $remote_addr',
  '$remote_addr;$request_body',
  'X-Header: value\r\nInjected: 1',
  // Snippets (configuration-, server-, auth-snippet) that pass an allowed directive and then their own.
  'add_header X-A "1";}\nserver { listen 80; location / { return 200 pwned; } }',
  'more_set_headers "X-A: $document_root";',
  'proxy_set_header X-A $request_body; include /etc/passwd;',
  'add_header X-A 1;\naccess_by_lua_block { os.execute("id") }',
  'expires 1h; load_module /tmp/x.so;',
  'add_header X-A "1"\u0000; ssl_engine evil;',
];

