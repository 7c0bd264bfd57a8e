"""A pycapnp (C++ RPC) RegistrationServer on a loopback TCP port, for Swift's RPC client.

Prints "port N" once listening, then one JSON line per call it receives. connIndex 0 is accepted, 1 is refused
with a ConnectionError, 2 raises an exception. Exits when stdin closes.
"""
import asyncio
import json
import sys

import capnp

from capnp_common import TUNNEL, CONNECTION_UUID, describe_register


class Registration(TUNNEL.RegistrationServer.Server):
    async def registerConnection(self, auth, tunnelId, connIndex, options, _context, **kwargs):
        print(json.dumps({'call': 'registerConnection', 'params': describe_register(_context.params)}), flush=True)
        if connIndex == 2:
            raise Exception('Unauthorized: pycapnp says no')
        res = _context.results.init('result').result
        if connIndex == 1:
            e = res.init('error')
            e.cause = 'EDUPCONN'
            e.retryAfter = 1_500_000_000
            e.shouldRetry = True
        else:
            d = res.init('connectionDetails')
            d.uuid = CONNECTION_UUID
            d.locationName = 'PYC'
            d.tunnelIsRemotelyManaged = False

    async def unregisterConnection(self, _context, **kwargs):
        print(json.dumps({'call': 'unregisterConnection'}), flush=True)

    async def updateLocalConfiguration(self, config, _context, **kwargs):
        print(json.dumps({'call': 'updateLocalConfiguration', 'config': bytes(config).decode()}), flush=True)


async def new_connection(stream):
    await capnp.TwoPartyServer(stream, bootstrap=Registration()).on_disconnect()
    print(json.dumps({'event': 'disconnected'}), flush=True)


async def main():
    server = await capnp.AsyncIoStream.create_server(new_connection, '127.0.0.1', 0)
    port = server.sockets[0].getsockname()[1]
    print('port %d' % port, flush=True)
    loop = asyncio.get_running_loop()
    stdin_closed = loop.run_in_executor(None, sys.stdin.read)
    async with server:
        await stdin_closed


if __name__ == '__main__':
    asyncio.run(capnp.run(main()))
