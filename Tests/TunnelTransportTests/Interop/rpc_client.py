"""A pycapnp (C++ RPC) client for Swift's RegistrationServer: rpc_client.py PORT.

Calls registerConnection (connIndex 0, then 1), updateLocalConfiguration, unregisterConnection and prints one JSON
object with what it got back.
"""
import asyncio
import json
import sys

import capnp

from capnp_common import TUNNEL, fill_register, describe_response


async def main(port):
    stream = await capnp.AsyncIoStream.create_connection(host='127.0.0.1', port=port)
    client = capnp.TwoPartyClient(stream)
    cap = client.bootstrap().cast_as(TUNNEL.RegistrationServer)
    out = {}
    for index in (0, 1, 2):
        request = cap.registerConnection_request()
        fill_register(request, conn_index=index)
        try:
            response = await request.send()
            out['register%d' % index] = describe_response(response.result)
        except Exception as error:  # the exception branch
            out['register%d' % index] = {'exception': str(error)}
    await cap.updateLocalConfiguration(config=b'{"ingress":[]}')
    out['config'] = 'ok'
    await cap.unregisterConnection()
    out['unregister'] = 'ok'
    print(json.dumps(out), flush=True)


if __name__ == '__main__':
    asyncio.run(capnp.run(main(int(sys.argv[1]))))
