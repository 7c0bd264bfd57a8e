"""Visitor-side helpers for the edge tests (one process per call).

  ws_echo HOST PORT HOSTNAME              WebSocket echo through the edge: text, 100 KB binary; prints "ok ..."
  rapid_reset PORT HOSTNAME COUNT         HTTP/2 HEADERS + RST_STREAM pairs (CVE-2023-44487); prints how
                                          many were sent before the edge closed the connection
  garbage PORT [tls]                      random bytes to a port; prints what came back
  connector_garbage PORT CA KIND          a TLS connection to the connector port (verified against CA) that
                                          sends KIND (random, http1, client_preface, settings_ack) instead of
                                          a connector's HTTP/2 server preface; prints "closed after S" or
                                          "open after S" (nothing within 12 s)
  slowloris PORT                          an HTTP/1.1 head that never completes; prints seconds until closed
  idle PORT HOSTNAME                      one keep-alive request, then silence; prints seconds until the edge closes
  ws_h2 PORT HOSTNAME                     WebSocket over HTTP/2 (RFC 8441 extended CONNECT, h2c): sends a
                                          masked text frame, expects it echoed; prints "ok ..."
  h2_header PORT HOSTNAME BYTES MODE      an HTTP/2 GET with one header of BYTES bytes; MODE "settled" waits
                                          for the edge's SETTINGS first, "eager" sends at once. Prints
                                          "status=N", or "goaway=CODE closed=BOOL" when the connection ends
"""
import asyncio
import os
import socket
import ssl
import sys
import time


async def ws_echo(host, port, hostname):
    import websockets
    async with websockets.connect(f"ws://{hostname}/echo", host=host, port=int(port), max_size=None) as ws:
        await ws.send("hello through the edge")
        text = await ws.recv()
        assert text == "hello through the edge", text
        blob = os.urandom(100_000)
        await ws.send(blob)
        back = await ws.recv()
        assert back == blob, "binary echo differs"
    print("ok text and 100 KB binary echoed")


def rapid_reset(port, hostname, count):
    import h2.config
    import h2.connection
    import h2.events
    sock = socket.create_connection(("127.0.0.1", int(port)))
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    sent = 0
    closed = False
    sock.settimeout(5)
    try:
        for _ in range(int(count)):
            stream = conn.get_next_available_stream_id()
            conn.send_headers(stream, [(":method", "GET"), (":scheme", "http"), (":authority", hostname), (":path", "/hang")])
            conn.reset_stream(stream)
            sock.sendall(conn.data_to_send())
            sent += 1
    except (BrokenPipeError, ConnectionResetError, h2.exceptions.ProtocolError):
        closed = True
    goaway = None
    deadline = time.time() + 5
    while not closed and time.time() < deadline:
        try:
            data = sock.recv(65536)
        except (ConnectionResetError, socket.timeout):
            closed = True
            break
        if not data:
            closed = True
            break
        try:
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.ConnectionTerminated):
                    goaway = event.error_code
        except h2.exceptions.ProtocolError:
            pass
    print(f"sent={sent} closed={closed} goaway={goaway}")


def garbage(port, tls=False):
    sock = socket.create_connection(("127.0.0.1", int(port)))
    sock.settimeout(10)
    sock.sendall(os.urandom(4096) + b"\r\n\r\n" + os.urandom(4096))
    got = b""
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                break
            got += data
    except (ConnectionResetError, socket.timeout) as error:
        print(f"error {type(error).__name__}")
    print(f"closed reply={got[:12]!r}")


def connector_garbage(port, ca, kind):
    payloads = {
        "random": os.urandom(4096),
        "http1": b"GET / HTTP/1.1\r\nHost: h2.cftunnel.com\r\n\r\n",
        "client_preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00",
        "settings_ack": b"\x00\x00\x00\x04\x01\x00\x00\x00\x00",
    }
    context = ssl.create_default_context(cafile=ca)
    tls = context.wrap_socket(socket.create_connection(("127.0.0.1", int(port))), server_hostname="h2.cftunnel.com")
    started = time.monotonic()
    tls.sendall(payloads[kind])
    tls.settimeout(12)
    state = "closed"
    try:
        while tls.recv(65536):
            pass
    except socket.timeout:
        state = "open"
    except (ssl.SSLError, ConnectionResetError, OSError):
        pass
    print(f"{state} after {time.monotonic() - started:.3f}")


def slowloris(port):
    sock = socket.create_connection(("127.0.0.1", int(port)))
    start = time.time()
    sock.sendall(b"GET / HTTP/1.1\r\nHost: app.test\r\nX-Slow: ")
    sock.settimeout(30)
    try:
        while True:
            time.sleep(0.2)
            sock.sendall(b"a")
    except (BrokenPipeError, ConnectionResetError, socket.timeout):
        pass
    print(f"closed after {time.time() - start:.1f}")


def idle(port, hostname):
    sock = socket.create_connection(("127.0.0.1", int(port)))
    sock.settimeout(30)
    sock.sendall(f"GET /bytes/1 HTTP/1.1\r\nHost: {hostname}\r\n\r\n".encode())
    reply = b""
    while b"\r\n\r\n" not in reply:
        reply += sock.recv(65536)
    start = time.time()
    try:
        while sock.recv(65536):
            pass
    except (ConnectionResetError, socket.timeout):
        pass
    print(f"{reply.split(b' ')[1].decode()} closed after {time.time() - start:.1f}")


def ws_h2(port, hostname):
    import struct
    import h2.config
    import h2.connection
    import h2.events
    import h2.settings
    sock = socket.create_connection(("127.0.0.1", int(port)))
    sock.settimeout(10)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    enabled = False
    while not enabled:
        for event in conn.receive_data(sock.recv(65536)):
            if isinstance(event, h2.events.RemoteSettingsChanged):
                enabled = conn.remote_settings.get(h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL) == 1
        sock.sendall(conn.data_to_send())
    stream = conn.get_next_available_stream_id()
    conn.send_headers(stream, [(":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "http"),
                               (":authority", hostname), (":path", "/echo"), ("sec-websocket-version", "13")])
    payload = b"hello over rfc 8441"
    mask = os.urandom(4)
    frame = bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    status = None
    received = b""
    sent = False
    sock.sendall(conn.data_to_send())
    deadline = time.time() + 10
    while time.time() < deadline:
        data = sock.recv(65536)
        if not data:
            break
        for event in conn.receive_data(data):
            if isinstance(event, h2.events.ResponseReceived):
                status = dict(event.headers).get(b":status")
                if status == b"200" and not sent:
                    conn.send_data(stream, frame)
                    sent = True
            elif isinstance(event, h2.events.DataReceived):
                conn.acknowledge_received_data(event.flow_controlled_length, stream)
                received += event.data
        sock.sendall(conn.data_to_send())
        if len(received) >= 2 + len(payload):
            break
    echoed = received[2:2 + len(payload)]
    if status == b"200" and echoed == payload:
        print("ok echoed over extended CONNECT")
    else:
        print(f"failed status={status} received={received[:40]!r}")


def h2_header(port, hostname, size, mode):
    import h2.config
    import h2.connection
    import h2.events
    sock = socket.create_connection(("127.0.0.1", int(port)))
    sock.settimeout(5)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    if mode == "settled":
        acked = False
        while not acked:
            for event in conn.receive_data(sock.recv(65535)):
                acked = acked or isinstance(event, h2.events.RemoteSettingsChanged)
            sock.sendall(conn.data_to_send())
        time.sleep(0.1)
    conn.send_headers(1, [(":method", "GET"), (":path", "/"), (":scheme", "http"), (":authority", hostname),
                          ("x-huge", "a" * int(size))], end_stream=True)
    sock.sendall(conn.data_to_send())
    goaway = None
    try:
        while True:
            data = sock.recv(65535)
            if not data:
                print(f"goaway={goaway} closed=True")
                return
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived):
                    print("status=" + dict(event.headers)[":status"])
                    return
                if isinstance(event, h2.events.ConnectionTerminated):
                    goaway = int(event.error_code)
            sock.sendall(conn.data_to_send())
    except ConnectionResetError:
        # Closed with our unread bytes still queued: the kernel resets instead of FIN.
        print(f"goaway={goaway} closed=True")
    except socket.timeout:
        print(f"goaway={goaway} closed=False")


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "ws_echo":
        asyncio.run(ws_echo(*args))
    elif command == "rapid_reset":
        rapid_reset(*args)
    elif command == "garbage":
        garbage(*args)
    elif command == "connector_garbage":
        connector_garbage(*args)
    elif command == "slowloris":
        slowloris(*args)
    elif command == "idle":
        idle(*args)
    elif command == "ws_h2":
        ws_h2(*args)
    elif command == "h2_header":
        h2_header(*args)
