"""Message-level interop with pycapnp (the C++ reference implementation underneath).

  capnp_messages.py build    -> JSON {name: hex of a framed message built by pycapnp}
  capnp_messages.py decode   <- JSON {name: hex} on stdin (built by Swift); -> JSON {name: decoded fields}
"""
import json
import sys

import capnp

from capnp_common import (RPC, TUNNEL, METHODS, REGISTRATION_SERVER, CONNECTION_UUID, fill_register,
                          describe_register, describe_response)


def framed(builder):
    return builder.to_bytes().hex()


def build():
    out = {}
    p = capnp._MallocMessageBuilder().init_root(METHODS['registerConnection'].param_type)
    fill_register(p)
    out['registerParams'] = p.to_bytes().hex()

    for name, which in (('details', 'connectionDetails'), ('error', 'error')):
        r = capnp._MallocMessageBuilder().init_root(METHODS['registerConnection'].result_type)
        res = r.init('result').result
        if which == 'connectionDetails':
            d = res.init('connectionDetails')
            d.uuid = CONNECTION_UUID
            d.locationName = 'LAB1'
            d.tunnelIsRemotelyManaged = True
        else:
            e = res.init('error')
            e.cause = 'EDUPCONN'
            e.retryAfter = 7_000_000_000
            e.shouldRetry = True
        out['results_' + name] = r.to_bytes().hex()

    m = RPC.Message.new_message()
    c = m.init('call')
    c.questionId, c.interfaceId, c.methodId = 1, REGISTRATION_SERVER, 0
    pa = c.target.init('promisedAnswer')
    pa.questionId = 0
    ops = pa.init('transform', 2)
    ops[0].noop = None
    ops[1].getPointerField = 3
    params_payload = c.init('params')
    fill_register(params_payload.content.as_struct(METHODS['registerConnection'].param_type))
    params_payload.init('capTable', 0)
    out['call'] = framed(m)

    for name, kind, fields in (('bootstrap', 'bootstrap', {'questionId': 4}),
                               ('finish', 'finish', {'questionId': 9, 'releaseResultCaps': False}),
                               ('finishRelease', 'finish', {'questionId': 2, 'releaseResultCaps': True}),
                               ('release', 'release', {'id': 3, 'referenceCount': 5})):
        m = RPC.Message.new_message()
        body = m.init(kind)
        for k, v in fields.items():
            setattr(body, k, v)
        out[name] = framed(m)

    m = RPC.Message.new_message()
    ex = m.init('abort')
    ex.reason = 'rpc: shutdown'
    ex.type = 'disconnected'
    out['abort'] = framed(m)

    m = RPC.Message.new_message()
    ret = m.init('return')
    ret.answerId = 6
    ret.init('exception').reason = 'boom'
    out['returnException'] = framed(m)

    m = RPC.Message.new_message()
    ret = m.init('return')
    ret.answerId = 0
    payload = ret.init('results')
    table = payload.init('capTable', 2)
    table[0].senderHosted = 11
    table[1].senderPromise = 12
    out['returnCapTable'] = framed(m)
    json.dump(out, sys.stdout)


def decode():
    items = json.load(sys.stdin)
    out = {}
    for name, hexdata in items.items():
        data = bytes.fromhex(hexdata)
        with RPC.Message.from_bytes(data) as m:
            which = m.which()
            d = {'which': which}
            if which == 'bootstrap':
                d['questionId'] = m.bootstrap.questionId
            elif which == 'finish':
                d['questionId'] = m.finish.questionId
                d['releaseResultCaps'] = m.finish.releaseResultCaps
            elif which == 'release':
                d['id'] = m.release.id
                d['referenceCount'] = m.release.referenceCount
            elif which == 'abort':
                d['reason'] = m.abort.reason
                d['type'] = str(m.abort.type)
            elif which == 'call':
                c = m.call
                d['questionId'] = c.questionId
                d['interfaceId'] = '%x' % c.interfaceId
                d['methodId'] = c.methodId
                d['target'] = c.target.which()
                if c.target.which() == 'promisedAnswer':
                    d['promisedQuestion'] = c.target.promisedAnswer.questionId
                    d['transform'] = len(c.target.promisedAnswer.transform)
                else:
                    d['importedCap'] = c.target.importedCap
                d['capTable'] = len(c.params.capTable)
                if c.methodId == 0:
                    d['params'] = describe_register(c.params.content.as_struct(METHODS['registerConnection'].param_type))
                elif c.methodId == 2:
                    d['config'] = bytes(c.params.content.as_struct(METHODS['updateLocalConfiguration'].param_type).config).decode()
            elif which == 'return':
                r = getattr(m, 'return')
                d['answerId'] = r.answerId
                d['releaseParamCaps'] = r.releaseParamCaps
                d['kind'] = r.which()
                if r.which() == 'results':
                    content = r.results.content
                    if r.results.capTable is not None and len(r.results.capTable) > 0:
                        cap = r.results.capTable[0]
                        d['capTable'] = [cap.which(), getattr(cap, cap.which())]
                    else:
                        d['response'] = describe_response(content.as_struct(METHODS['registerConnection'].result_type).result)
                elif r.which() == 'exception':
                    d['reason'] = r.exception.reason
            out[name] = d
    json.dump(out, sys.stdout)


if __name__ == '__main__':
    {'build': build, 'decode': decode}[sys.argv[1]]()
