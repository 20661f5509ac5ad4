#!/usr/bin/python3
"""Interop peer: the test service served by Apache Thrift's own Python library.

Run it with /usr/bin/python3 (Debian's python3-thrift). Command line:

  python_server.py --transport tcp|unix|tcps|unixs|http|https
      [--port N (0 = any free port) | --path /sock/path]  [--protocol binary|compact|json]
      [--framed] [--zlib] [--multiplex] [--cert F --key F [--ca F]]
      [--http-status N] [--http-path /rpc] [--idl F] [--gen-dir D] [--control-stdin]

Wire stacks, bottom up:
  tcp/unix[s]/tcps: socket -> TLS (tcps, unixs) -> zlib (--zlib) -> buffered or framed -> protocol
  http[s]:          one POST body per message -> protocol (framing and zlib do not apply)
With --zlib and --framed the frames travel inside the zlib stream (DESIGN.md).
--ca turns on mutual TLS: the client must present a certificate signed by that CA.
--multiplex registers "Calculator" and "Greeter" (no default service, so a client that
forgets the service prefix fails). Without it only Calculator is served.

Stdout (line buffered):
  READY <port-or-path>   once, when listening.
  STATS {"id": .., "bytes": .., "connections": .., "rejected": .., "open": ..}
      printed on SIGUSR1, and, with --control-stdin, for each line "stats [id]" on stdin.
      bytes: application bytes received from clients, counted after TLS (what a client
        managed to send as Thrift data: compressed bytes for zlib, request bodies for http);
      connections: connections accepted; rejected: of those, failed TLS handshakes
        (for example a bad client certificate); open: connections not yet closed.
  Asking is more robust than printing on every close: the answer reflects the moment of
  the question, and a test never reads a stale line.
SIGTERM (and, with --control-stdin, stdin closing) ends the peer, so it never outlives a
test process that died.
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
from thrift.protocol import TBinaryProtocol, TCompactProtocol, TJSONProtocol
from thrift.server import THttpServer, TServer
from thrift.transport import TSocket, TSSLSocket, TTransport, TZlibTransport

HANDSHAKE_TIMEOUT = 10.0  # seconds; a client that stalls its TLS handshake is dropped
log = logging.getLogger("python_peer")
out_lock = threading.RLock()  # re-entrant: a signal handler may print while main prints


def emit(line):
    with out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


class Stats:
    def __init__(self):
        self.lock = threading.RLock()
        self.counts = {"bytes": 0, "connections": 0, "rejected": 0, "open": 0}

    def add(self, **deltas):
        with self.lock:
            for key, delta in deltas.items():
                self.counts[key] += delta

    def report(self, request_id=None):
        with self.lock:
            emit("STATS " + json.dumps(dict(self.counts, id=request_id)))


STATS = Stats()
REQUEST = threading.local()  # the HTTP request a handler thread is serving, if any


class Handler:
    def __init__(self, ttypes):
        self.ttypes = ttypes
        self.messages = []
        self.lock = threading.Lock()

    def add(self, a, b):
        return a + b

    def echoString(self, s):
        return s

    def echoI64(self, v):
        return v

    def echoBinary(self, b):
        return b

    def echoNested(self, n):
        return n

    def fail(self, message):
        raise self.ttypes.NotFound(message=message, code=404)

    def crash(self):
        raise RuntimeError("crash() called: an undeclared server error")

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
        headers = getattr(REQUEST, "headers", None)
        return headers.get(name, "") if headers is not None else ""

    def greet(self, name):
        return "hello " + name


class PeerSocket(TSocket.TSocket):
    """An accepted connection. The TLS handshake runs lazily in the connection's own
    thread (not in the accept loop, where one stalled client would block everyone), and
    every byte read after TLS is counted."""

    def __init__(self, sock, tls_context):
        TSocket.TSocket.__init__(self)
        self.handle = sock
        self._tls = tls_context
        self._counted_open = True
        STATS.add(connections=1, open=1)

    def _handshake(self):
        context, self._tls = self._tls, None
        self.handle.settimeout(HANDSHAKE_TIMEOUT)
        try:
            self.handle = context.wrap_socket(self.handle, server_side=True)
        except (ssl.SSLError, OSError) as e:
            STATS.add(rejected=1)
            log.warning("TLS handshake failed: %s", e)
            self.close()
            raise TTransport.TTransportException(
                TTransport.TTransportException.NOT_OPEN, "TLS handshake failed: %s" % e)
        self.handle.settimeout(None)

    def read(self, sz):
        if self._tls:
            self._handshake()
        data = TSocket.TSocket.read(self, sz)
        STATS.add(bytes=len(data))
        return data

    def write(self, buf):
        if self._tls:
            self._handshake()
        TSocket.TSocket.write(self, buf)

    def close(self):
        if self._counted_open:  # TServer closes both its input and output transport
            self._counted_open = False
            STATS.add(open=-1)
        TSocket.TSocket.close(self)


class PeerListener:
    """Mixed into the library's server sockets: listen() may be called early (to print
    READY before serve()), and accept() hands out PeerSockets."""

    tls = None

    def listen(self):
        if self.handle is None:
            super().listen()

    def accept(self):
        sock, _ = self.handle.accept()
        return PeerSocket(sock, self.tls)


class PeerServerSocket(PeerListener, TSocket.TServerSocket):
    pass


class PeerSSLServerSocket(PeerListener, TSSLSocket.TSSLServerSocket):
    # TSSLServerSocket itself serves unix sockets too (unix_socket=...). Its own accept()
    # is replaced: it handshakes inside the accept loop, and with a CA it checks the client
    # certificate's names against the peer address, which rejects every unix client (whose
    # address is '') and every client certificate without an IP entry. The chain is still
    # verified by the SSLContext (CERT_REQUIRED).
    pass


class StackFactory:
    """socket -> [zlib] -> buffered|framed, built with the library's own factories."""

    def __init__(self, framed, zlib):
        self.outer = (TTransport.TFramedTransportFactory() if framed
                      else TTransport.TBufferedTransportFactory())
        self.zlib = TZlibTransport.TZlibTransportFactory() if zlib else None

    def getTransport(self, trans):
        if self.zlib:
            trans = self.zlib.getTransport(trans)
        return self.outer.getTransport(trans)


class PeerHttpServer(http.server.ThreadingHTTPServer):
    """One thread per connection, TLS handshake in that thread, connections counted."""

    daemon_threads = True
    tls = None

    def finish_request(self, request, client_address):
        STATS.add(connections=1, open=1)
        conn = request
        try:
            if self.tls:
                request.settimeout(HANDSHAKE_TIMEOUT)
                try:
                    conn = self.tls.wrap_socket(request, server_side=True)
                except (ssl.SSLError, OSError) as e:
                    STATS.add(rejected=1)
                    log.warning("TLS handshake failed: %s", e)
                    return
                conn.settimeout(None)
            self.RequestHandlerClass(conn, client_address, self)
        finally:
            STATS.add(open=-1)
            if conn is not request:
                conn.close()


class ThriftHttpHandler(http.server.BaseHTTPRequestHandler):
    """Replaces THttpServer's handler: per-thread state (its own keeps the oneway flag on
    the shared server object), keep-alive, --http-status, --http-path, header capture."""

    protocol_version = "HTTP/1.1"
    wbufsize = -1  # one send per response: headers and body apart meet Nagle + delayed ACK
    server_version = "python-thrift-peer"
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

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                parts.append(self.rfile.read(size))
                self.rfile.readline()  # CRLF after each chunk (and after the last one)
                if size == 0:
                    return b"".join(parts)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_POST(self):
        body = self.read_body()
        STATS.add(bytes=len(body))
        REQUEST.replied = False
        opts = self.opts
        if opts.http_status:
            return self.reply(opts.http_status, b"peer says %d" % opts.http_status)
        if opts.http_path and urlsplit(self.path).path != opts.http_path:
            return self.reply(404, b"no Thrift service at " + self.path.encode())
        REQUEST.headers, REQUEST.http = self.headers, self
        out = TTransport.TMemoryBuffer()
        try:
            self.processor.process(self.pfactory.getProtocol(TTransport.TMemoryBuffer(body)),
                                   self.pfactory.getProtocol(out))
        except Exception as e:  # garbage that the protocol cannot parse
            log.warning("bad request: %r", e)
            if not REQUEST.replied:
                self.reply(400, ("bad Thrift request: %s" % e).encode())
            return
        finally:
            REQUEST.headers = REQUEST.http = None
        if not REQUEST.replied:
            self.reply(200, out.getvalue(), "application/x-thrift")


def on_message_begin(name, mtype, seqid):
    # Like THttpServer: a oneway call is answered (empty 200) before it is processed.
    request = getattr(REQUEST, "http", None)
    if request is not None and mtype == TMessageType.ONEWAY:
        request.reply(200, b"", "application/x-thrift")


def generate(idl, gen_dir):
    # stdout is reserved for READY/STATS lines
    subprocess.run(["thrift", "--gen", "py", "-out", gen_dir, idl], check=True, stdout=sys.stderr)


def tls_context(opts):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(opts.cert, opts.key)
    if opts.ca:  # mutual TLS
        context.load_verify_locations(opts.ca)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def parse_args():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description="Apache Thrift (Python) interop peer")
    p.add_argument("--transport", required=True,
                   choices=["tcp", "unix", "tcps", "unixs", "http", "https"])
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--path", help="unix socket path (unix, unixs)")
    p.add_argument("--protocol", default="binary", choices=["binary", "compact", "json"])
    p.add_argument("--framed", action="store_true")
    p.add_argument("--zlib", action="store_true")
    p.add_argument("--multiplex", action="store_true")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--ca")
    p.add_argument("--http-status", type=int)
    p.add_argument("--http-path")
    p.add_argument("--idl", default=os.path.join(here, "..", "idl", "test.thrift"))
    p.add_argument("--gen-dir", help="generated code (thrift --gen py) to use or create")
    p.add_argument("--control-stdin", action="store_true",
                   help='answer "stats" lines on stdin; exit when stdin closes')
    opts = p.parse_args()
    secure = opts.transport in ("tcps", "unixs", "https")
    http_like = opts.transport in ("http", "https")
    if secure and not (opts.cert and opts.key):
        p.error("--cert and --key are needed for " + opts.transport)
    if opts.transport in ("unix", "unixs") and not opts.path:
        p.error("--path is needed for " + opts.transport)
    if not http_like and (opts.http_status or opts.http_path):
        p.error("--http-status and --http-path apply to http and https only")
    if http_like and (opts.zlib or opts.framed):
        p.error("--zlib and --framed apply to socket transports only")
    return opts


def main():
    opts = parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="python_peer: %(levelname)s %(name)s: %(message)s")
    cleanup = []
    gen_dir = opts.gen_dir
    if not gen_dir:
        gen_dir = tempfile.mkdtemp(prefix="thrift-peer-gen-")
        cleanup.append(lambda: shutil.rmtree(gen_dir, ignore_errors=True))
    if not os.path.exists(os.path.join(gen_dir, "thrift_test", "Calculator.py")):
        os.makedirs(gen_dir, exist_ok=True)
        generate(opts.idl, gen_dir)
    sys.path.insert(0, gen_dir)
    from thrift_test import Calculator, Greeter, ttypes

    handler = Handler(ttypes)
    processor = Calculator.Processor(handler)
    if opts.multiplex:
        processor = TMultiplexedProcessor()
        processor.registerProcessor("Calculator", Calculator.Processor(handler))
        processor.registerProcessor("Greeter", Greeter.Processor(handler))
    pfactory = {
        "binary": TBinaryProtocol.TBinaryProtocolFactory,
        "compact": TCompactProtocol.TCompactProtocolFactory,
        "json": TJSONProtocol.TJSONProtocolFactory,
    }[opts.protocol]()
    tls = tls_context(opts) if opts.transport in ("tcps", "unixs", "https") else None

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGUSR1, lambda signum, frame: STATS.report())
    if opts.control_stdin:
        def control():
            for line in sys.stdin:
                words = line.split()
                if words and words[0] == "stats":
                    STATS.report(words[1] if len(words) > 1 else None)
            os.kill(os.getpid(), signal.SIGTERM)  # parent gone: stop

        threading.Thread(target=control, daemon=True).start()

    try:
        if opts.transport in ("http", "https"):
            ThriftHttpHandler.opts, ThriftHttpHandler.processor = opts, processor
            ThriftHttpHandler.pfactory = pfactory
            processor.on_message_begin(on_message_begin)
            server = THttpServer.THttpServer(processor, ("127.0.0.1", opts.port), pfactory,
                                             server_class=PeerHttpServer)
            server.httpd.RequestHandlerClass = ThriftHttpHandler
            server.httpd.tls = tls
            emit("READY %d" % server.httpd.server_address[1])
        else:
            if opts.transport in ("unix", "unixs"):
                where = {"unix_socket": opts.path}
                cleanup.append(lambda: os.path.exists(opts.path) and os.unlink(opts.path))
            else:
                where = {"host": "127.0.0.1", "port": opts.port}
            if tls:
                listener = PeerSSLServerSocket(ssl_context=tls, **where)
                listener.tls = tls
            else:
                listener = PeerServerSocket(**where)
            server = TServer.TThreadedServer(processor, listener,
                                             StackFactory(opts.framed, opts.zlib), pfactory,
                                             daemon=True)
            listener.listen()
            emit("READY %s" % (opts.path or listener.handle.getsockname()[1]))
        server.serve()
        code = 0
    except SystemExit:
        code = 0
    except Exception:
        log.exception("peer failed")
        code = 1
    for step in cleanup:
        step()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # connection threads may be sleeping; do not wait for them


if __name__ == "__main__":
    main()
