#!/usr/bin/python3
"""Interop peer for tests/idl/typed/tutorial.thrift (Calculator extends SharedService),
served by Apache Thrift's Python library over TCP (buffered).

  typed_server.py --idl tests/idl/typed/tutorial.thrift --gen-dir DIR
      [--protocol binary|compact|json]

Generates the Python code into DIR (`thrift -r --gen py`), listens on a free port, prints
`READY <port>`, and exits when stdin closes or on SIGTERM.
"""
import argparse
import os
import signal
import subprocess
import sys
import threading

from thrift.protocol import TBinaryProtocol, TCompactProtocol, TJSONProtocol
from thrift.server import TServer
from thrift.transport import TSocket, TTransport


class Handler:
    """Calculator and SharedService, as the test expects them."""

    def __init__(self, tutorial, shared):
        self.tutorial = tutorial
        self.shared = shared

    # SharedService
    def getStruct(self, key):
        if key < 0:
            raise self.shared.ttypes.SharedError(reason="negative key %d" % key)
        return self.shared.ttypes.SharedStruct(key=key, value="value %d" % key)

    def favorite(self, c):
        return c

    # Calculator
    def ping(self):
        pass

    def add(self, num1, num2):
        return num1 + num2

    def calculate(self, logid, w):
        op = self.tutorial.ttypes.Operation
        if w.op == op.ADD:
            return w.num1 + w.num2
        if w.op == op.SUBTRACT:
            return w.num1 - w.num2
        if w.op == op.MULTIPLY:
            return w.num1 * w.num2
        if w.num2 == 0:
            raise self.tutorial.ttypes.InvalidOperation(whatOp=w.op, why="Cannot divide by 0")
        return w.num1 // w.num2

    def addBig(self, a, b):
        return a + b

    def roundTrip(self, v):
        return v

    def pick(self, v):
        return v

    def invert(self, m):
        return {value: key for key, value in m.items()}

    def unique(self, items):
        return set(items)

    def reverse(self, data):
        return bytes(reversed(data))

    def share(self, key):
        return self.getStruct(key)

    def zip(self):
        pass

    def byId(self, q, limit):
        return [q, -1 if limit is None else limit]

    def span(self, start, stop):
        return stop - start


PROTOCOLS = {
    "binary": TBinaryProtocol.TBinaryProtocolFactory,
    "compact": TCompactProtocol.TCompactProtocolFactory,
    "json": TJSONProtocol.TJSONProtocolFactory,
}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--idl", required=True)
    p.add_argument("--gen-dir", required=True)
    p.add_argument("--protocol", default="binary", choices=["binary", "compact", "json"])
    opts = p.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    if not os.path.exists(os.path.join(opts.gen_dir, "typed_tutorial", "Calculator.py")):
        os.makedirs(opts.gen_dir, exist_ok=True)
        subprocess.run(["thrift", "-r", "--gen", "py", "-out", opts.gen_dir, opts.idl],
                       check=True, stdout=sys.stderr)
    sys.path.insert(0, opts.gen_dir)
    import typed_shared
    import typed_shared.ttypes  # noqa: F401
    import typed_tutorial.ttypes  # noqa: F401
    from typed_tutorial import Calculator

    # Without this the server would fill `byId`'s IDL default itself: with it, a limit
    # missing from the wire reads as None, so the echo proves the client sent the default.
    Calculator.byId_args.__init__.__defaults__ = (None, None)
    processor = Calculator.Processor(Handler(typed_tutorial, typed_shared))
    socket = TSocket.TServerSocket(host="127.0.0.1", port=0)
    server = TServer.TThreadedServer(processor, socket, TTransport.TBufferedTransportFactory(),
                                     PROTOCOLS[opts.protocol](), daemon=True)
    socket.listen()
    socket.listen = lambda: None  # serve() listens again: keep the bound port
    port = socket.handle.getsockname()[1]

    def stop(signum, frame):
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)

    def watch_stdin():
        sys.stdin.read()
        os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()
    print("READY %d" % port)
    server.serve()


if __name__ == "__main__":
    main()
