#!/usr/bin/env python3
"""Minimal independent *edge* for the HTTP/2 tunnel layer, built on the `h2` package.

It accepts one TLS connection from the connector under test, acts as the HTTP/2 client
(edge role), opens the control stream (stream 1), sends bytes on it and reads the answer,
then proxies one POST on stream 3. It prints one line `PORT <n>` when listening and, at
the end, one JSON line with what it observed (settings, window update, heads, bodies).

    python3 h2_edge_peer.py --cert edge.pem --key edge.key
"""
import argparse, base64, json, socket, ssl, sys

import h2.config, h2.connection, h2.events, h2.settings


def b64(text):
    return base64.b64decode(text + '=' * (-len(text) % 4))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--cert', required=True)
    ap.add_argument('--key', required=True)
    args = ap.parse_args()

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    listener = socket.socket()
    listener.bind(('127.0.0.1', 0))
    listener.listen(1)
    listener.settimeout(30)
    print('PORT', listener.getsockname()[1], flush=True)
    raw, _ = listener.accept()
    sock = ctx.wrap_socket(raw, server_side=True)
    sock.settimeout(30)

    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding='utf-8'))
    conn.local_settings = h2.settings.Settings(client=True, initial_values={
        h2.settings.SettingCodes.ENABLE_PUSH: 0,
        h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 1 << 20})
    conn.initiate_connection()
    conn.send_headers(1, [(':method', 'GET'), (':scheme', 'https'), (':authority', 'h2.cftunnel.com'),
                          (':path', '/'), ('cf-cloudflared-proxy-connection-upgrade', 'control-stream')])
    conn.send_data(1, b'bootstrap-bytes')
    sock.sendall(conn.data_to_send())

    seen = {'settings': None, 'connection_window_increment': 0, 'heads': {}, 'bodies': {}, 'trailers': {},
            'ended': [], 'resets': {}, 'cipher': sock.version()}
    opened_data_stream = False
    done = False
    while not done:
        data = sock.recv(65536)
        if not data:
            break
        for ev in conn.receive_data(data):
            if isinstance(ev, h2.events.RemoteSettingsChanged) and seen['settings'] is None:
                seen['settings'] = {int(k): v.new_value for k, v in ev.changed_settings.items()}
            elif isinstance(ev, h2.events.WindowUpdated) and ev.stream_id == 0 and not seen['connection_window_increment']:
                seen['connection_window_increment'] = ev.delta
            elif isinstance(ev, (h2.events.ResponseReceived, h2.events.TrailersReceived)):
                target = seen['heads'] if isinstance(ev, h2.events.ResponseReceived) else seen['trailers']
                target[ev.stream_id] = [[n, v] for n, v in ev.headers]
            elif isinstance(ev, h2.events.DataReceived):
                conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                seen['bodies'][ev.stream_id] = seen['bodies'].get(ev.stream_id, '') + ev.data.decode('latin-1')
            elif isinstance(ev, h2.events.StreamEnded):
                seen['ended'].append(ev.stream_id)
            elif isinstance(ev, h2.events.StreamReset):
                seen['resets'][ev.stream_id] = int(ev.error_code)
        body1 = seen['bodies'].get(1, '')
        if not opened_data_stream and 'echo:bootstrap-bytes' in body1:
            opened_data_stream = True
            conn.send_headers(3, [(':method', 'POST'), (':scheme', 'https'), (':authority', 'app.test'),
                                  (':path', '/echo'), ('want-trailers', '1')])
            conn.send_data(3, b'payload-from-python', end_stream=True)
        if 3 in seen['ended']:
            done = True
        sock.sendall(conn.data_to_send())

    ser = dict(seen['heads'].get(3, [])).get('cf-cloudflared-response-headers')
    if ser is not None:
        seen['decoded'] = [[b64(n).decode('latin-1'), b64(v).decode('latin-1')]
                           for n, _, v in (p.partition(':') for p in ser.split(';') if p)]
    conn.close_connection()
    sock.sendall(conn.data_to_send())
    sock.close()
    print(json.dumps(seen, sort_keys=True), flush=True)


if __name__ == '__main__':
    main()
