"""Shared helpers for the pycapnp interop scripts: schemas, fixture values, framing."""
import os
import struct
import uuid

import capnp

HERE = os.path.dirname(os.path.abspath(__file__))
_CAPNP_DIR = os.path.dirname(capnp.__file__)
RPC = capnp.load(os.path.join(_CAPNP_DIR, 'rpc.capnp'), imports=[os.path.dirname(_CAPNP_DIR)])
TUNNEL = capnp.load(os.path.join(HERE, 'tunnel.capnp'))
METHODS = TUNNEL.RegistrationServer.schema.methods
REGISTRATION_SERVER = 0xf71695ec7fe85497

ACCOUNT_TAG = '0123456789abcdef0123456789abcdef'
SECRET = bytes.fromhex('2fffb3bb67209550e2a8c6390f058c531f5c2ed6249dd6171c5ee29e1e9dd9d2')
TUNNEL_ID = uuid.UUID('d4e2fa18-d251-4c06-9b51-1ef2fd26967d').bytes
CLIENT_ID = uuid.UUID('b11a003c-6f27-465c-b1bc-6dfc2e48ca6b').bytes
CONNECTION_UUID = uuid.UUID('8825d73a-cb84-4927-bd19-8144d26bd34b').bytes
FEATURES = ['allow_remote_config', 'serialized_headers', 'support_datagram_v2', 'support_quic_eof', 'management_logs']
ORIGIN_IP = bytes(10) + b'\xff\xff\x7f\x00\x00\x01'


def fill_register(p, conn_index=0):
    """registerConnection params with the capture's inputs."""
    auth = p.init('auth')
    auth.accountTag = ACCOUNT_TAG
    auth.tunnelSecret = SECRET
    p.tunnelId = TUNNEL_ID
    p.connIndex = conn_index
    opts = p.init('options')
    client = opts.init('client')
    client.clientId = CLIENT_ID
    feats = client.init('features', len(FEATURES))
    for i, f in enumerate(FEATURES):
        feats[i] = f
    client.version = '2026.8.2-local'
    client.arch = 'linux_amd64'
    opts.originLocalIp = ORIGIN_IP
    opts.numPreviousAttempts = 3
    opts.compressionQuality = 1
    opts.replaceExisting = True


def describe_register(p):
    o = p.options
    return {
        'accountTag': p.auth.accountTag, 'tunnelSecret': bytes(p.auth.tunnelSecret).hex(), 'tunnelId': bytes(p.tunnelId).hex(),
        'connIndex': p.connIndex, 'clientId': bytes(o.client.clientId).hex(), 'features': list(o.client.features),
        'version': o.client.version, 'arch': o.client.arch, 'originLocalIp': bytes(o.originLocalIp).hex(),
        'replaceExisting': o.replaceExisting, 'compressionQuality': o.compressionQuality,
        'numPreviousAttempts': o.numPreviousAttempts,
    }


def describe_response(r):
    res = r.result
    if res.which() == 'error':
        e = res.error
        return {'error': {'cause': e.cause, 'retryAfter': e.retryAfter, 'shouldRetry': e.shouldRetry}}
    d = res.connectionDetails
    return {'connectionDetails': {'uuid': bytes(d.uuid).hex(), 'locationName': d.locationName,
                                  'tunnelIsRemotelyManaged': d.tunnelIsRemotelyManaged}}


def split_frames(buf):
    out = []
    while len(buf) >= 8:
        count = struct.unpack_from('<I', buf, 0)[0] + 1
        header = 4 + 4 * count + (4 if count % 2 == 0 else 0)
        if len(buf) < header:
            break
        total = header + 8 * sum(struct.unpack_from('<%dI' % count, buf, 4))
        if len(buf) < total:
            break
        out.append(bytes(buf[:total]))
        buf = buf[total:]
    return out, buf
