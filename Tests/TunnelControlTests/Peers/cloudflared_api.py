#!/usr/bin/env python3
"""Independent peer: talks to the control plane's v4 API the way unmodified cloudflared 2026.8.2 does.

Requests are what cloudflared sends, byte for byte (management-api.md A1): HTTP/1.1, headers in Go's
order (Host, User-Agent, Content-Length, then sorted: Accept, Authorization, Content-Type, then
Accept-Encoding: gzip), compact Go-style JSON, query keys sorted (url.Values.Encode). Every response
is checked against the envelope rules cloudflared applies (A2). Standard library only.

    cloudflared_api.py BASE_URL TOKEN ACCOUNT_ID lifecycle|errors|paginate N|route ZONE_ID
    cloudflared_api.py BASE_URL - - certpem CERT_PEM
    cloudflared_api.py QUICK_SERVICE_URL - - quick

`quick` asks for a quick tunnel as cloudflared 2026.8.2 does (management-api.md A7: POST
{quick-service}/tunnel, empty body, Content-Type application/json, User-Agent cloudflared/VERSION)
and checks the answer the way cloudflared reads it: JSON, result.id a UUID, result.secret standard
base64, result.hostname and result.account_tag present; prints them.

`certpem` reads a cert.pem as cloudflared does (credentials.md §1: Go's encoding/pem, the token
JSON), checks it is in the layout login writes (§1.3), checks the origin certificate with openssl,
then lists tunnels with the token and account it holds.

Prints one JSON line with what was seen and exits 0; on a failed check prints it on stderr, exits 1.
"""
import base64, gzip, http.client, json, os, re, sys, urllib.parse, uuid

VERSION = '2026.8.2'
UUID_RE = re.compile(r'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')


class CheckFailed(Exception):
    pass


def check(cond, what):
    if not cond:
        raise CheckFailed(what)


def go_json(value):
    """encoding/json output: compact, UTF-8, with <, >, &, U+2028/9 escaped."""
    text = json.dumps(value, separators=(',', ':'), ensure_ascii=False)
    for ch, esc in (('<', '\\u003c'), ('>', '\\u003e'), ('&', '\\u0026'),
                    ('\u2028', '\\u2028'), ('\u2029', '\\u2029')):
        text = text.replace(ch, esc)
    return text.encode()


class Api:
    def __init__(self, base, token, account):
        self.url = urllib.parse.urlsplit(base.rstrip('/'))
        self.token, self.account = token, account
        self.conn = None

    def tunnels(self, suffix=''):
        return f'/accounts/{self.account}/cfd_tunnel{suffix}'

    def _connect(self):
        cls = http.client.HTTPSConnection if self.url.scheme == 'https' else http.client.HTTPConnection
        return cls(self.url.hostname, self.url.port, timeout=15)

    def request(self, method, path, query=None, body=None, token=None, raw_body=None):
        """One request; returns (status, headers, raw bytes, parsed JSON or None)."""
        target = self.url.path + path
        if query:
            target += '?' + urllib.parse.urlencode(sorted(query.items()))
        data = raw_body if raw_body is not None else (None if body is None else go_json(body))
        token = self.token if token is None else token
        for attempt in (1, 2):  # a kept-alive connection the server closed is retried once, like Go
            if self.conn is None:
                self.conn = self._connect()
            try:
                c = self.conn
                c.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
                c.putheader('Host', self.url.netloc)
                c.putheader('User-Agent', f'cloudflared/{VERSION}')
                if data is not None:
                    c.putheader('Content-Length', str(len(data)))
                c.putheader('Accept', 'application/json;version=1')
                if token != '':
                    c.putheader('Authorization', f'Bearer {token}')
                if data is not None:
                    c.putheader('Content-Type', 'application/json')
                c.putheader('Accept-Encoding', 'gzip')
                c.endheaders()
                if data is not None:
                    try:
                        c.send(data)
                    except (BrokenPipeError, ConnectionResetError):
                        pass  # server answered early (e.g. 413) and closed; read its answer
                resp = c.getresponse()
                raw = resp.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        if resp.will_close:
            self.conn.close()
            self.conn = None
        if resp.getheader('Content-Encoding', '') == 'gzip':
            raw = gzip.decompress(raw)
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        return resp.status, resp.headers, raw, parsed

    def ok(self, method, path, query=None, body=None):
        """A call that must succeed: 200 and an envelope cloudflared accepts. Returns (result, envelope)."""
        status, _, raw, env = self.request(method, path, query, body)
        what = f'{method} {path} {query or ""}'
        check(status == 200, f'{what}: status {status}, body {raw[:300]!r}')
        check_envelope(env, what)
        check(env['success'] is True and env['errors'] == [], f'{what}: not a success envelope: {env}')
        return env['result'], env

    def fails(self, method, path, expect_status, expect_code=None, **kw):
        """A call that must fail with a JSON error envelope cloudflared can render. Returns the envelope."""
        status, headers, raw, env = self.request(method, path, **kw)
        what = f'{method} {path} {kw.get("query") or ""}'
        check(status == expect_status, f'{what}: status {status}, expected {expect_status}; body {raw[:300]!r}')
        ctype = headers.get('Content-Type')
        check(ctype == 'application/json', f'{what}: error Content-Type {ctype!r}, need exactly application/json')
        check_envelope(env, what)
        check(env['success'] is False, f'{what}: success is not false')
        check(env['errors'] and all(type(e.get('code')) is int and isinstance(e.get('message'), str)
                                    for e in env['errors']), f'{what}: bad errors {env["errors"]}')
        if expect_code is not None:
            codes = [e['code'] for e in env['errors']]
            check(expect_code in codes, f'{what}: error codes {codes}, expected {expect_code}')
        return env


def check_envelope(env, what):
    check(isinstance(env, dict), f'{what}: body is not a JSON object')
    for key in ('success', 'errors', 'messages', 'result'):
        check(key in env, f'{what}: envelope lacks {key!r}: {env}')
    check(isinstance(env['success'], bool), f'{what}: success is not a bool')
    check(isinstance(env['errors'], list), f'{what}: errors is not a list')
    check(isinstance(env['messages'], list) and all(isinstance(m, str) for m in env['messages']),
          f'{what}: messages must be a list of strings (cloudflared fails otherwise): {env["messages"]}')


def check_page(env, what):
    info = env.get('result_info')
    check(isinstance(env['result'], list), f'{what}: result is not a list')
    check(isinstance(info, dict) and all(type(info.get(k)) is int for k in
                                         ('count', 'page', 'per_page', 'total_count')),
          f'{what}: bad result_info {info}')
    check(info['count'] == len(env['result']), f'{what}: result_info.count {info["count"]} != {len(env["result"])} items')
    return info


def new_secret():
    return base64.b64encode(os.urandom(32)).decode()


def create(api, name, secret):
    return api.ok('POST', api.tunnels(), body={'name': name, 'tunnel_secret': secret})[0]


def lifecycle(api):
    verify, _ = api.ok('GET', '/user/tokens/verify')
    check(isinstance(verify, dict) and verify.get('status') == 'active', f'token verify: {verify}')
    secret = new_secret()
    t = create(api, 't1', secret)
    tid = t.get('id')
    check(isinstance(tid, str) and UUID_RE.match(tid), f'create: id {tid!r} is not a lowercase UUID')
    check(t.get('name') == 't1', f'create: name {t.get("name")!r}')
    check(isinstance(t.get('token'), str), 'create: no token string')
    creds = t.get('credentials_file') or {}
    check(creds == {'AccountTag': api.account, 'TunnelID': tid, 'TunnelName': 't1', 'TunnelSecret': secret},
          f'create: credentials_file {creds}')

    # cloudflared ignores a 409's body ("tunnel with name already exists")
    status, _, _, _ = api.request('POST', api.tunnels(), body={'name': 't1', 'tunnel_secret': new_secret()})
    check(status == 409, f'duplicate create: status {status}, expected 409')

    by_name = {'is_deleted': 'false', 'name': 't1', 'page': '1'}  # name→ID lookup
    _, env = api.ok('GET', api.tunnels(), by_name)
    check_page(env, 'list by name')
    check([x.get('id') for x in env['result']] == [tid], f'list by name: {env["result"]}')
    _, env = api.ok('GET', api.tunnels(), {'page': '1', 'uuid': tid})  # tunnel info
    check_page(env, 'list by uuid')
    check([x.get('id') for x in env['result']] == [tid], f'list by uuid: {env["result"]}')

    got, _ = api.ok('GET', api.tunnels(f'/{tid}'))
    check(got.get('id') == tid and got.get('deleted_at') is None, f'get: {got}')

    token, _ = api.ok('GET', api.tunnels(f'/{tid}/token'))
    check(isinstance(token, str), f'token: result {token!r} is not a string')
    try:
        decoded = json.loads(base64.b64decode(token, validate=True))
    except ValueError as e:
        raise CheckFailed(f'token: not padded standard base64 of JSON: {e}')
    check({k: decoded.get(k) for k in 'ast'} == {'a': api.account, 's': secret, 't': tid}
          and set(decoded) <= set('aste'), f'token: decodes to {decoded}')

    conns, _ = api.ok('GET', api.tunnels(f'/{tid}/connections'))
    check(conns is None or isinstance(conns, list), f'connections: {conns!r}')
    api.ok('DELETE', api.tunnels(f'/{tid}/connections'))  # tunnel cleanup
    api.ok('DELETE', api.tunnels(f'/{tid}'), {'cascade': 'true'})  # tunnel delete -f

    got, _ = api.ok('GET', api.tunnels(f'/{tid}'))
    check(got.get('deleted_at') is not None, f'get after delete: deleted_at is null: {got}')
    _, env = api.ok('GET', api.tunnels(), by_name)
    check(check_page(env, 'list after delete')['count'] == 0 and env['result'] == [],
          f'list after delete: {env}')
    _, env = api.ok('GET', api.tunnels(), {'name': 't1', 'page': '1'})  # list -d shows it
    check(tid in [x.get('id') for x in env['result']], 'list -d after delete: deleted tunnel missing')
    env = api.fails('GET', api.tunnels(f'/{tid}/token'), 400, 1023)
    return {'tunnel_id': tid, 'token_error': env['errors'][0]}


def paginate(api, n):
    created = {create(api, f'p-{i}', new_secret())['id'] for i in range(n)}
    check(len(created) == n, 'paginate: duplicate ids on create')
    query = {'is_deleted': 'false', 'name_prefix': 'p-', 'per_page': '7'}
    seen, page = [], 1
    while True:  # cfapi fetchExhaustively
        _, env = api.ok('GET', api.tunnels(), dict(query, page=str(page)))
        info = check_page(env, f'page {page}')
        check(info['page'] == page and info['per_page'] == 7, f'page {page}: result_info {info}')
        check(info['total_count'] == n, f'page {page}: total_count {info["total_count"]}, expected {n}')
        seen += [x.get('id') for x in env['result']]
        if info['count'] < info['per_page'] or len(seen) >= info['total_count']:
            break
        page += 1
        check(page <= n // 7 + 2, 'paginate: too many pages (would loop forever in cloudflared)')
    check(len(seen) == len(set(seen)) and set(seen) == created, f'paginate: saw {len(seen)} ids, '
          f'{len(set(seen))} distinct, {len(set(seen) & created)} of the {n} created')
    for tid in created:
        api.ok('DELETE', api.tunnels(f'/{tid}'), {'cascade': 'true'})
    return {'created': n, 'pages': page}


def errors(api):
    secret = new_secret()
    results = {}
    def fail(label, *args, **kw):
        env = api.fails(*args, **kw)
        results[label] = env['errors'][0]['code']
    fail('malformed_json', 'POST', api.tunnels(), 400, 1001, raw_body=b'{"name":"x","tunnel_secret":')
    fail('wrong_type', 'POST', api.tunnels(), 400, 1001, body={'name': 5, 'tunnel_secret': secret})
    fail('short_secret', 'POST', api.tunnels(), 400, 1001,
         body={'name': 'short', 'tunnel_secret': base64.b64encode(b'x' * 16).decode()})
    fail('bad_query', 'GET', api.tunnels(), 400, 1001, query={'page': 'x'})
    fail('no_auth', 'GET', api.tunnels(), 401, 10000, query={'page': '1'}, token='')
    fail('wrong_token', 'GET', api.tunnels(), 401, 10000, query={'page': '1'}, token='not-the-token')
    other = Api(urllib.parse.urlunsplit(api.url), api.token, 'f' * 32 if api.account != 'f' * 32 else 'e' * 32)
    env = other.fails('GET', other.tunnels(), 403, 10000, query={'page': '1'})
    results['other_account'] = env['errors'][0]['code']
    fail('bad_uuid', 'GET', api.tunnels('/not-a-uuid'), 404, 7003)
    fail('unknown_tunnel', 'GET', api.tunnels(f'/{uuid.uuid4()}'), 404, 1002)
    fail('unknown_path', 'GET', f'/accounts/{api.account}/no_such_thing', 404, 7000)
    fail('bad_method', 'PUT', api.tunnels(f'/{uuid.uuid4()}'), 405, 7001)
    big = go_json({'name': 'big', 'tunnel_secret': secret, 'config_src': 'x' * (70 * 1024)})
    fail('too_large', 'POST', api.tunnels(), 413, 1004, raw_body=big)
    return results


def route(api, zone):
    """`cloudflared tunnel route dns [-f] TUNNEL HOSTNAME`: PUT /zones/{zone}/tunnels/{id}/routes (A4 #9)."""
    first = create(api, 'r1', new_secret())['id']
    second = create(api, 'r2', new_secret())['id']
    path = lambda tid: f'/zones/{zone}/tunnels/{tid}/routes'
    body = lambda host, force: {'type': 'dns', 'user_hostname': host, 'overwrite_existing': force}
    new, _ = api.ok('PUT', path(first), body=body('cf-route', False))
    check(new.get('cname') == 'new' and new.get('name', '').startswith('cf-route.'), f'route new: {new}')
    host = new['name']
    same, _ = api.ok('PUT', path(first), body=body(host, False))
    check(same.get('cname') == 'unchanged', f'route again: {same}')
    env = api.fails('PUT', path(second), 400, 1003, body=body(host, False))
    check(env['errors'][0]['message'].startswith('An A, AAAA or CNAME record already exists with that host'), f'refusal: {env}')
    moved, _ = api.ok('PUT', path(second), body=body(host, True))
    check(moved.get('cname') == 'updated', f'route overwrite: {moved}')
    for tid in (first, second):
        api.ok('DELETE', api.tunnels(f'/{tid}'), query={'cascade': 'true'})
    return {'hostname': host}


def read_cert_pem(path):
    """cloudflared's decodeOriginCert: PEM blocks in order; ARGO TUNNEL TOKEN exactly once;
    PRIVATE KEY and CERTIFICATE accepted; any other block an error."""
    text = open(path, 'rb').read().decode()
    check(text, 'cannot decode empty certificate')
    blocks = re.findall(r'-----BEGIN ([A-Z ]+)-----\r?\n(.*?)-----END \1-----\r?\n?', text, re.S)
    token, labels = None, []
    for label, body in blocks:
        labels.append(label)
        raw = base64.b64decode(''.join(body.split()), validate=True)
        if label == 'ARGO TUNNEL TOKEN':
            check(token is None, 'found multiple tokens in the certificate')
            token = (json.loads(raw), raw, body)
        else:
            check(label in ('PRIVATE KEY', 'CERTIFICATE'), f'unknown block {label} in the certificate')
    check(token and token[0].get('zoneID') and token[0].get('apiToken'), 'missing token in the certificate')
    fields, raw, body = token
    # What login writes: compact JSON, keys zoneID, accountID, apiToken; 64-column base64 lines.
    check(raw == go_json({'zoneID': fields['zoneID'], 'accountID': fields['accountID'], 'apiToken': fields['apiToken']}),
          f'token JSON is not the canonical encoding: {raw!r}')
    check(all(len(line) <= 64 for line in body.splitlines()), 'PEM lines longer than 64 characters')
    check(text.endswith('-----END ARGO TUNNEL TOKEN-----\n'), 'the file does not end with the token block and a newline')
    return fields, labels


def certpem(base, path):
    import subprocess
    fields, labels = read_cert_pem(path)
    check(labels == ['PRIVATE KEY', 'CERTIFICATE', 'ARGO TUNNEL TOKEN'], f'blocks: {labels}')
    def openssl(*args):
        return subprocess.run(['openssl', *args, '-in', path], capture_output=True, text=True, check=True).stdout
    x509 = openssl('x509', '-noout', '-text')
    names = re.search(r'Subject Alternative Name:\s*\n\s*(.+)', x509).group(1).strip()
    check(names.startswith('DNS:') and ', DNS:*.' in names, f'subject alternative names: {names}')
    check(openssl('x509', '-noout', '-pubkey') == openssl('pkey', '-pubout'), 'the private key does not match the certificate')
    check(subprocess.run(['openssl', 'x509', '-noout', '-checkend', str(10 * 365 * 86400 - 86400), '-in', path], capture_output=True).returncode == 0,
          'the origin certificate expires within 10 years')
    api = Api(base, fields['apiToken'], fields['accountID'])
    tunnels, _ = api.ok('GET', api.tunnels(), query={'is_deleted': 'false'})
    return {'zoneID': fields['zoneID'], 'accountID': fields['accountID'], 'names': names, 'tunnels': len(tunnels)}


def quick(base):
    """cloudflared's quick_tunnel.go request and parsing. Go's client sends Content-Length: 0 for an
    empty POST body and adds Accept-Encoding: gzip."""
    url = urllib.parse.urlsplit(base.rstrip('/'))
    cls = http.client.HTTPSConnection if url.scheme == 'https' else http.client.HTTPConnection
    conn = cls(url.hostname, url.port, timeout=15)
    conn.putrequest('POST', url.path + '/tunnel', skip_host=True, skip_accept_encoding=True)
    conn.putheader('Host', url.netloc)
    conn.putheader('User-Agent', f'cloudflared/{VERSION}')
    conn.putheader('Content-Length', '0')
    conn.putheader('Content-Type', 'application/json')
    conn.putheader('Accept-Encoding', 'gzip')
    conn.endheaders()
    resp = conn.getresponse()
    raw = resp.read()
    if resp.getheader('Content-Encoding', '') == 'gzip':
        raw = gzip.decompress(raw)
    try:
        data = json.loads(raw)
    except ValueError:
        raise CheckFailed(f'failed to unmarshal quick Tunnel: status {resp.status}, body {raw[:200]!r}')
    # Go decodes keys case-insensitively into {success, result{id,name,hostname,account_tag,secret}, errors}.
    result = {k.lower(): v for k, v in (data.get('result') or {}).items()}
    check(resp.status == 200, f'status {resp.status}: {data}')
    check(data.get('success') is True and data.get('errors') == [], f'envelope: {data}')
    try:
        tunnel_id = str(uuid.UUID(result.get('id', '')))
    except ValueError:
        raise CheckFailed(f'failed to parse quick Tunnel ID {result.get("id")!r}')
    check(tunnel_id == result['id'], f'id not lowercase canonical: {result["id"]}')
    secret = base64.b64decode(result.get('secret', ''), validate=True)
    check(len(secret) >= 32, f'secret of {len(secret)} bytes')
    check(result.get('hostname') and result.get('account_tag'), f'hostname/account_tag missing: {result}')
    return {'id': tunnel_id, 'hostname': result['hostname'], 'account_tag': result['account_tag'], 'secret': result['secret']}


def main():
    args = sys.argv[1:]
    if len(args) == 4 and args[3] == 'quick':
        try:
            out = quick(args[0])
        except (CheckFailed, OSError, ValueError, http.client.HTTPException) as e:
            print(f'quick: {e}', file=sys.stderr)
            sys.exit(1)
        print(json.dumps(dict(out, scenario='quick', ok=True), sort_keys=True))
        return
    if len(args) == 5 and args[3] == 'certpem':
        try:
            out = certpem(args[0], args[4])
        except (CheckFailed, OSError, ValueError, http.client.HTTPException) as e:
            print(f'certpem: {e}', file=sys.stderr)
            sys.exit(1)
        print(json.dumps(dict(out, scenario='certpem', ok=True), sort_keys=True))
        return
    if len(args) < 4 or args[3] not in ('lifecycle', 'errors', 'paginate', 'route') or \
            (args[3] == 'paginate' and (len(args) != 5 or not args[4].isdigit())) or (args[3] == 'route' and len(args) != 5):
        sys.exit(__doc__)
    api = Api(*args[:3])
    try:
        if args[3] == 'paginate':
            out = paginate(api, int(args[4]))
        elif args[3] == 'route':
            out = route(api, args[4])
        else:
            out = {'lifecycle': lifecycle, 'errors': errors}[args[3]](api)
    except (CheckFailed, OSError, http.client.HTTPException) as e:
        print(f'{args[3]}: {e!r}' if not isinstance(e, CheckFailed) else f'{args[3]}: {e}', file=sys.stderr)
        sys.exit(1)
    print(json.dumps(dict(out, scenario=args[3], ok=True), sort_keys=True))


if __name__ == '__main__':
    main()
