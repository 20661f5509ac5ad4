#!/usr/bin/python3
"""Interop peer: the test service (tests/idl/test.thrift) served by Apache Thrift's own
Python library. Run it with /usr/bin/python3, the interpreter that has python3-thrift.

  python_server.py --transport tcp|unix|tcps|unixs|http|https
      [--port N (default 0: a free port) | --path /sock/path]
      [--protocol binary|compact|json|header] [--framed] [--zlib] [--multiplex]
      [--cert F --key F [--ca F]]
      [--http-status N] [--http-path /rpc] [--idl F] [--gen-dir D] [--control-stdin]

Sockets: socket -> TLS (tcps, unixs) -> zlib -> buffered or framed -> protocol; with --zlib
and --framed the frames travel inside the zlib stream (DESIGN.md). --protocol header:
THeaderProtocol (binary or compact inside, as each request frame says) over the buffered
socket; --zlib: the zlib transform on every reply (requests are inflated whatever they say).
header(name) answers the request's info header `name` and sets the reply's info header
`echo-<name>` to the same value. http(s): one POST body per message. --ca asks for and verifies client certificates (mutual TLS). --multiplex
registers "Calculator" and "Greeter" and no default, so an unprefixed call fails.

Stdout: `READY <port-or-path>` once listening; `STATS {"id", "bytes", "connections",
"rejected", "open"}` on SIGUSR1 and, with --control-stdin, for each stdin line `stats [id]`.
Asked-for stats reflect the moment of the question, so a test never reads a stale line.
bytes: application bytes received, counted after TLS (compressed bytes for zlib, request
bodies for http); connections: accepted; rejected: of those, failed TLS handshakes (a bad
or missing client certificate); open: not yet closed. SIGTERM ends the peer, and so does
stdin closing with --control-stdin, so it never outlives a test process that died.
"""
import argparse
import http.server
import json
import logging
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from urllib.parse import urlsplit

from thrift.Thrift import TMessageType
from thrift.TMultiplexedProcessor import TMultiplexedProcessor
from thrift.protocol import TBinaryProtocol, TCompactProtocol, THeaderProtocol, TJSONProtocol
from thrift.server import THttpServer, TServer
from thrift.transport import TSocket, TSSLSocket, TTransport, TZlibTransport
from thrift.transport.THeaderTransport import THeaderTransformID

HANDSHAKE_TIMEOUT = 10.0  # seconds: a client that stalls its TLS handshake is dropped
log = logging.getLogger("python_peer")
out_lock = threading.RLock()  # re-entrant: a signal handler may print while main prints
REQUEST = threading.local()  # the HTTP request (or THeader protocol) this thread serves, if any


def emit(line):
    with out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


STATS = {"bytes": 0, "connections": 0, "rejected": 0, "open": 0}
stats_lock = threading.RLock()


def count(**deltas):
    with stats_lock:
        for key, delta in deltas.items():
            STATS[key] += delta


def report(request_id=None):
    with stats_lock:
        emit("STATS " + json.dumps(dict(STATS, id=request_id)))


class Handler:
    """Calculator and Greeter, as the IDL's comments describe them."""

    def __init__(self, ttypes):
        self.ttypes = ttypes
        self.messages = []
        self.lock = threading.Lock()

    def add(self, a, b):
        return a + b

    def echoString(self, value):
        return value

    echoI64 = echoI64Map = echoBinary = echoNested = echoString

    def fail(self, message):
        raise self.ttypes.NotFound(message=message, code=404)

    def crash(self):
        raise RuntimeError("crash(): an undeclared server error")

    def sleep(self, ms):
        time.sleep(ms / 1000.0)
        return ms

    def notify(self, message):
        with self.lock:
            self.messages.append(message)

    def notified(self):
        with self.lock:
            return list(self.messages)

    def header(self, name):
        protocol = getattr(REQUEST, "header_protocol", None)
        if protocol is not None:  # THeader: an info header, echoed in the reply
            value = protocol.get_headers().get(name.encode(), b"")
            protocol.set_header(b"echo-" + name.encode(), value)
            return value.decode()
        headers = getattr(REQUEST, "headers", None)
        return headers.get(name, "") if headers is not None else ""

    def greet(self, name):
        return "hello " + name


class PeerSocket(TSocket.TSocket):
    """An accepted connection: TLS handshake in the connection's own thread, before its
    first read (in the accept loop one stalled client would block everyone); bytes are
    counted after TLS."""

    def __init__(self, sock, tls):
        TSocket.TSocket.__init__(self)
        self.handle, self._tls, self._open = sock, tls, True
        count(connections=1, open=1)

    def _handshake(self):
        context, self._tls = self._tls, None
        self.handle.settimeout(HANDSHAKE_TIMEOUT)
        try:
            self.handle = context.wrap_socket(self.handle, server_side=True)
        except (ssl.SSLError, OSError) as e:
            count(rejected=1)
            log.warning("TLS handshake failed: %s", e)
            self.close()
            raise TTransport.TTransportException(TTransport.TTransportException.NOT_OPEN, str(e))
        self.handle.settimeout(None)

    def read(self, sz):
        if self._tls:
            self._handshake()
        data = TSocket.TSocket.read(self, sz)
        count(bytes=len(data))
        return data

    def close(self):
        if self._open:  # TServer closes its input and its output transport
            self._open = False
            count(open=-1)
        TSocket.TSocket.close(self)


class PeerListener:
    """Mixed into the library's server sockets: listen() may run before serve() (to print
    READY), accept() hands out PeerSockets."""

    tls = None

    def listen(self):
        if self.handle is None:
            super().listen()

    def accept(self):
        return PeerSocket(self.handle.accept()[0], self.tls)


class PeerServerSocket(PeerListener, TSocket.TServerSocket):
    pass


class PeerSSLServerSocket(PeerListener, TSSLSocket.TSSLServerSocket):
    # TSSLServerSocket serves unix sockets as well (unix_socket=...). Its accept() is
    # replaced: it handshakes in the accept loop, and with a CA it matches the client
    # certificate's names against the peer address, which rejects every unix client (the
    # address is '') and every client certificate without that IP. The SSLContext
    # (CERT_REQUIRED) still verifies the chain.
    pass


class StackFactory:
    """socket -> [zlib] -> buffered | framed, from the library's own factories."""

    def __init__(self, framed, zlib):
        self.outer = (TTransport.TFramedTransportFactory() if framed
                      else TTransport.TBufferedTransportFactory())
        self.zlib = TZlibTransport.TZlibTransportFactory() if zlib else None

    def getTransport(self, trans):
        return self.outer.getTransport(self.zlib.getTransport(trans) if self.zlib else trans)


class PeerHeaderProtocol(THeaderProtocol.THeaderProtocol):
    """THeaderProtocol that tells the handler which protocol serves its thread's call."""

    def readMessageBegin(self):
        REQUEST.header_protocol = self
        return super().readMessageBegin()


class PeerHeaderProtocolFactory(THeaderProtocol.THeaderProtocolFactory):
    """Makes PeerHeaderProtocols; with zlib they compress every reply. TServer uses one
    protocol for a connection's input and output because this is a THeaderProtocolFactory."""

    def __init__(self, zlib):
        super().__init__()
        self.zlib = zlib

    def getProtocol(self, trans):
        protocol = PeerHeaderProtocol(trans, self.allowed_client_types, self.default_protocol)
        if self.zlib:
            protocol.add_transform(THeaderTransformID.ZLIB)
        return protocol


class PeerHttpServer(http.server.ThreadingHTTPServer):
    """A thread per connection, TLS handshake in that thread, connections counted."""

    daemon_threads = True
    tls = None

    def finish_request(self, request, client_address):
        count(connections=1, open=1)
        conn = request
        try:
            if self.tls:
                request.settimeout(HANDSHAKE_TIMEOUT)
                try:
                    conn = self.tls.wrap_socket(request, server_side=True)
                except (ssl.SSLError, OSError) as e:
                    count(rejected=1)
                    log.warning("TLS handshake failed: %s", e)
                    return
                conn.settimeout(None)
            self.RequestHandlerClass(conn, client_address, self)
        finally:
            count(open=-1)
            if conn is not request:
                conn.close()


class ThriftHttpHandler(http.server.BaseHTTPRequestHandler):
    """Replaces THttpServer's handler (which keeps its oneway flag on the shared server):
    per-thread state, keep-alive, --http-status, --http-path, header capture."""

    protocol_version = "HTTP/1.1"
    wbufsize = -1  # one send per response: headers and body apart meet Nagle + delayed ACK
    opts = processor = pfactory = None  # set in main()

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body, ctype="text/plain"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        REQUEST.replied = True

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        count(bytes=len(body))
        REQUEST.replied = False
        if self.opts.http_status:
            return self.reply(self.opts.http_status, b"peer says %d" % self.opts.http_status)
        if self.opts.http_path and urlsplit(self.path).path != self.opts.http_path:
            return self.reply(404, b"no Thrift service at " + self.path.encode())
        REQUEST.headers, REQUEST.http = self.headers, self
        out = TTransport.TMemoryBuffer()
        try:
            self.processor.process(self.pfactory.getProtocol(TTransport.TMemoryBuffer(body)),
                                   self.pfactory.getProtocol(out))
        except Exception as e:  # a body the protocol cannot parse
            log.warning("bad request: %r", e)
            if not REQUEST.replied:
                self.reply(400, ("bad Thrift request: %s" % e).encode())
            return
        finally:
            REQUEST.headers = REQUEST.http = None
        if not REQUEST.replied:
            self.reply(200, out.getvalue(), "application/x-thrift")


def on_message_begin(name, mtype, seqid):
    # As in THttpServer: a oneway call is answered (empty 200) before it is processed.
    request = getattr(REQUEST, "http", None)
    if request is not None and mtype == TMessageType.ONEWAY:
        request.reply(200, b"", "application/x-thrift")


def tls_context(opts):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(opts.cert, opts.key)
    if opts.ca:  # mutual TLS
        context.load_verify_locations(opts.ca)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def parse_args():
    p = argparse.ArgumentParser(description="Apache Thrift (Python) interop peer")
    p.add_argument("--transport", required=True,
                   choices=["tcp", "unix", "tcps", "unixs", "http", "https"])
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--path", help="unix socket path (unix, unixs)")
    p.add_argument("--protocol", default="binary",
                   choices=["binary", "compact", "json", "header"])
    for flag in ("--framed", "--zlib", "--multiplex"):
        p.add_argument(flag, action="store_true")
    for option in ("--cert", "--key", "--ca", "--http-path"):
        p.add_argument(option)
    p.add_argument("--http-status", type=int)
    p.add_argument("--idl", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                 "..", "idl", "test.thrift"))
    p.add_argument("--gen-dir", help="code from `thrift --gen py` (made there if missing)")
    p.add_argument("--control-stdin", action="store_true",
                   help='answer "stats" lines on stdin; exit when stdin closes')
    opts = p.parse_args()
    http_like = opts.transport in ("http", "https")
    if opts.transport in ("tcps", "unixs", "https") and not (opts.cert and opts.key):
        p.error("--cert and --key are needed for " + opts.transport)
    if opts.transport in ("unix", "unixs") and not opts.path:
        p.error("--path is needed for " + opts.transport)
    if not http_like and (opts.http_status or opts.http_path):
        p.error("--http-status and --http-path apply to http and https only")
    if http_like and (opts.zlib or opts.framed):
        p.error("--zlib and --framed apply to socket transports only")
    if opts.protocol == "header" and (http_like or opts.framed):
        p.error("--protocol header applies to socket transports, without --framed")
    return opts


def make_server(opts, processor, pfactory, tls):
    """Builds the server and starts listening; returns it and what READY reports."""
    if opts.transport in ("http", "https"):
        ThriftHttpHandler.opts, ThriftHttpHandler.processor = opts, processor
        ThriftHttpHandler.pfactory = pfactory
        processor.on_message_begin(on_message_begin)
        server = THttpServer.THttpServer(processor, ("127.0.0.1", opts.port), pfactory,
                                         server_class=PeerHttpServer)
        server.httpd.RequestHandlerClass = ThriftHttpHandler
        server.httpd.tls = tls
        return server, server.httpd.server_address[1]
    if opts.path:
        where = {"unix_socket": opts.path}
    else:
        where = {"host": "127.0.0.1", "port": opts.port}
    listener = PeerSSLServerSocket(ssl_context=tls, **where) if tls else PeerServerSocket(**where)
    listener.tls = tls
    listener.listen()
    zlib_stream = opts.zlib and opts.protocol != "header"  # THeader: zlib is its transform
    server = TServer.TThreadedServer(processor, listener, StackFactory(opts.framed, zlib_stream),
                                     pfactory, daemon=True)
    return server, opts.path or listener.handle.getsockname()[1]


def main():
    opts = parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    logging.basicConfig(level=logging.WARNING, format="python_peer: %(levelname)s %(message)s")
    cleanup = []
    gen_dir = opts.gen_dir
    if not gen_dir:
        gen_dir = tempfile.mkdtemp(prefix="thrift-peer-gen-")
        cleanup.append(lambda: shutil.rmtree(gen_dir, ignore_errors=True))
    if not os.path.exists(os.path.join(gen_dir, "thrift_test", "Calculator.py")):
        os.makedirs(gen_dir, exist_ok=True)
        # stdout is kept for READY and STATS
        subprocess.run(["thrift", "--gen", "py", "-out", gen_dir, opts.idl],
                       check=True, stdout=sys.stderr)
    sys.path.insert(0, gen_dir)
    from thrift_test import Calculator, Greeter, ttypes

    handler = Handler(ttypes)
    processor = Calculator.Processor(handler)
    if opts.multiplex:
        processor = TMultiplexedProcessor()
        processor.registerProcessor("Calculator", Calculator.Processor(handler))
        processor.registerProcessor("Greeter", Greeter.Processor(handler))
    if opts.protocol == "header":
        pfactory = PeerHeaderProtocolFactory(opts.zlib)
    else:
        pfactory = {"binary": TBinaryProtocol.TBinaryProtocolFactory,
                    "compact": TCompactProtocol.TCompactProtocolFactory,
                    "json": TJSONProtocol.TJSONProtocolFactory}[opts.protocol]()

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGUSR1, lambda signum, frame: report())
    if opts.control_stdin:
        def control():
            for line in sys.stdin:
                words = line.split()
                if words and words[0] == "stats":
                    report(words[1] if len(words) > 1 else None)
            os.kill(os.getpid(), signal.SIGTERM)  # the parent is gone

        threading.Thread(target=control, daemon=True).start()

    code = 0
    try:
        tls = tls_context(opts) if opts.transport in ("tcps", "unixs", "https") else None
        server, where = make_server(opts, processor, pfactory, tls)
        if opts.path:
            cleanup.append(lambda: os.path.exists(opts.path) and os.unlink(opts.path))
        emit("READY %s" % where)
        server.serve()
    except SystemExit:
        pass
    except Exception:
        log.exception("peer failed")
        code = 1
    for step in cleanup:
        step()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # connection threads may be sleeping: do not wait for them


if __name__ == "__main__":
    main()
