// Interop peer: the test service (tests/idl/test.thrift) served by Apache Thrift's own C++
// library (libthrift), built on the code from `thrift --gen cpp` (tests/helpers/cpp_peer.ts
// compiles it).
//
//   cpp_server --transport tcp|unix|tcps|unixs|http|https
//       [--port N (default 0: a free port) | --path /sock/path]
//       [--protocol binary|compact|json|header] [--framed] [--zlib] [--multiplex]
//       [--cert F --key F [--ca F]] [--control-stdin]
//
// Sockets: socket -> TLS (tcps, unixs) -> zlib -> buffered or framed -> protocol; with --zlib
// and --framed the frames travel inside the zlib stream (DESIGN.md), so the stack is built
// here: TZlibTransportFactory given an inner factory would put zlib outside the frames.
// --protocol header: THeaderProtocol (binary or compact inside, as each request frame says)
// over the buffered socket, one protocol object for a connection's input and output (so a
// reply takes its request's protocol and sequence id), --zlib: the zlib transform on every
// reply (requests are inflated whatever they say). header(name) answers the request's info
// header `name` and sets the reply's info header `echo-<name>` to the same value.
// http(s): THttpServer on a TServerSocket; it ignores the request path, passes the handler no
// headers (header() answers "") and never answers a oneway POST. --ca asks for and verifies
// client certificates (mutual TLS). --multiplex registers "Calculator" and "Greeter" and no
// default, so an unprefixed call fails.
//
// Stdout: one line `READY <port-or-path>` once listening. SIGTERM ends the peer, and so does
// stdin closing with --control-stdin, so it never outlives a test process that died.

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <thrift/processor/TMultiplexedProcessor.h>
#include <thrift/protocol/TBinaryProtocol.h>
#include <thrift/protocol/TCompactProtocol.h>
#include <thrift/protocol/THeaderProtocol.h>
#include <thrift/protocol/TJSONProtocol.h>
#include <thrift/server/TThreadedServer.h>
#include <thrift/transport/TBufferTransports.h>
#include <thrift/transport/THttpServer.h>
#include <thrift/transport/TSSLServerSocket.h>
#include <thrift/transport/TSSLSocket.h>
#include <thrift/transport/TServerSocket.h>
#include <thrift/transport/TZlibTransport.h>

#include "Calculator.h"
#include "Greeter.h"

using apache::thrift::TMultiplexedProcessor;
using apache::thrift::TProcessor;
using apache::thrift::protocol::TBinaryProtocolFactory;
using apache::thrift::protocol::TCompactProtocolFactory;
using apache::thrift::protocol::THeaderProtocol;
using apache::thrift::protocol::THeaderProtocolFactory;
using apache::thrift::protocol::TProtocol;
using apache::thrift::protocol::TJSONProtocolFactory;
using apache::thrift::protocol::TProtocolFactory;
using apache::thrift::server::TServerEventHandler;
using apache::thrift::server::TThreadedServer;
using apache::thrift::transport::TBufferedTransportFactory;
using apache::thrift::transport::TFramedTransportFactory;
using apache::thrift::transport::THeaderTransport;
using apache::thrift::transport::THttpServerTransportFactory;
using apache::thrift::transport::TServerSocket;
using apache::thrift::transport::TSocket;
using apache::thrift::transport::TSSLServerSocket;
using apache::thrift::transport::TSSLSocketFactory;
using apache::thrift::transport::TTransport;
using apache::thrift::transport::TTransportFactory;
using apache::thrift::transport::TZlibTransportFactory;

namespace {

// The THeader protocol of the connection this thread serves (TThreadedServer: a thread per
// connection), set by ReadyPrinter::createContext; null for other protocols.
thread_local THeaderProtocol* t_header = nullptr;

// Calculator and Greeter, as the IDL's comments describe them.
class Handler : public CalculatorIf, public GreeterIf {
 public:
  int32_t add(const int32_t a, const int32_t b) override {
    // wraps like the clients' i32 instead of overflowing (undefined behaviour)
    return static_cast<int32_t>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b));
  }
  void echoString(std::string& out, const std::string& s) override { out = s; }
  int64_t echoI64(const int64_t v) override { return v; }
  void echoI64Map(std::map<int64_t, std::string>& out, const std::map<int64_t, std::string>& m) override {
    out = m;
  }
  void echoBinary(std::string& out, const std::string& b) override { out = b; }
  void echoNested(Nested& out, const Nested& n) override { out = n; }
  void fail(const std::string& message) override {
    NotFound error;
    error.__set_message(message);
    error.__set_code(404);
    throw error;
  }
  void crash() override {
    // undeclared: the generated processor answers TApplicationException UNKNOWN
    throw std::runtime_error("crash(): an undeclared server error");
  }
  int32_t sleep(const int32_t ms) override {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    return ms;
  }
  void notify(const std::string& message) override {
    std::lock_guard<std::mutex> guard(lock_);
    messages_.push_back(message);
  }
  void notified(std::vector<std::string>& out) override {
    std::lock_guard<std::mutex> guard(lock_);
    out = messages_;
  }
  void header(std::string& out, const std::string& name) override {
    out.clear();
    if (t_header == nullptr) return;
    auto found = t_header->getHeaders().find(name);
    if (found != t_header->getHeaders().end()) out = found->second;
    t_header->setHeader("echo-" + name, out);  // sent with this call's reply
  }
  void greet(std::string& out, const std::string& name) override { out = "hello " + name; }

 private:
  std::mutex lock_;
  std::vector<std::string> messages_;
};

// socket -> [zlib] -> buffered | framed, from the library's own factories.
class StackFactory : public TTransportFactory {
 public:
  StackFactory(bool framed, bool zlib) : zlib_(zlib) {
    if (framed) {
      outer_ = std::make_shared<TFramedTransportFactory>();
    } else {
      outer_ = std::make_shared<TBufferedTransportFactory>();
    }
  }
  std::shared_ptr<TTransport> getTransport(std::shared_ptr<TTransport> trans) override {
    return outer_->getTransport(zlib_ ? zlib_factory_.getTransport(trans) : trans);
  }

 private:
  bool zlib_;
  TZlibTransportFactory zlib_factory_;
  std::shared_ptr<TTransportFactory> outer_;
};

// TSSLServerSocket listens on TCP only; this one hands out TSSLSockets on a unix socket, the
// way TSSLServerSocket does (the handshake runs lazily, in the connection's own thread).
class UnixSSLServerSocket : public TServerSocket {
 public:
  UnixSSLServerSocket(const std::string& path, std::shared_ptr<TSSLSocketFactory> factory)
      : TServerSocket(path), factory_(std::move(factory)) {
    factory_->server(true);
  }

 protected:
  std::shared_ptr<TSocket> createSocket(THRIFT_SOCKET client) override {
    if (interruptableChildren_) return factory_->createSocket(client, pChildInterruptSockReader_);
    return factory_->createSocket(client);
  }

 private:
  std::shared_ptr<TSSLSocketFactory> factory_;
};

// THeaderProtocolFactory whose protocols also compress every reply (the zlib transform).
class ZlibHeaderProtocolFactory : public THeaderProtocolFactory {
 public:
  std::shared_ptr<TProtocol> getProtocol(std::shared_ptr<TTransport> in,
                                         std::shared_ptr<TTransport> out) override {
    auto protocol = THeaderProtocolFactory::getProtocol(in, out);
    std::dynamic_pointer_cast<THeaderTransport>(protocol->getTransport())
        ->setTransform(THeaderTransport::ZLIB_TRANSFORM);
    return protocol;
  }
};

// Prints READY once serve() has called listen(), so the port is the real one; notes each
// connection's THeader protocol for the handler, in the connection's own thread.
class ReadyPrinter : public TServerEventHandler {
 public:
  explicit ReadyPrinter(std::shared_ptr<TServerSocket> socket) : socket_(std::move(socket)) {}
  void preServe() override {
    std::string where = socket_->isUnixDomainSocket() ? socket_->getPath()
                                                      : std::to_string(socket_->getPort());
    std::printf("READY %s\n", where.c_str());
    std::fflush(stdout);
  }
  void* createContext(std::shared_ptr<TProtocol> input, std::shared_ptr<TProtocol>) override {
    t_header = dynamic_cast<THeaderProtocol*>(input.get());
    return nullptr;
  }

 private:
  std::shared_ptr<TServerSocket> socket_;
};

struct Options {
  std::string transport, path, protocol = "binary", cert, key, ca;
  int port = 0;
  bool framed = false, zlib = false, multiplex = false, control_stdin = false;
};

const char* g_socket_path = nullptr;  // unlinked on exit; a plain pointer for the signal handler

void on_signal(int) {
  if (g_socket_path != nullptr) unlink(g_socket_path);
  _exit(0);
}

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "cpp_server: " << why << "\n"
            << "usage: cpp_server --transport tcp|unix|tcps|unixs|http|https [--port N | --path P]"
               " [--protocol binary|compact|json|header] [--framed] [--zlib] [--multiplex]"
               " [--cert F --key F [--ca F]] [--control-stdin]\n";
  std::exit(2);
}

bool one_of(const std::string& value, std::initializer_list<const char*> choices) {
  for (const char* choice : choices) {
    if (value == choice) return true;
  }
  return false;
}

Options parse_args(int argc, char** argv) {
  Options opts;
  for (int i = 1; i < argc; i++) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--transport") opts.transport = value();
    else if (arg == "--port") opts.port = std::atoi(value().c_str());
    else if (arg == "--path") opts.path = value();
    else if (arg == "--protocol") opts.protocol = value();
    else if (arg == "--cert") opts.cert = value();
    else if (arg == "--key") opts.key = value();
    else if (arg == "--ca") opts.ca = value();
    else if (arg == "--framed") opts.framed = true;
    else if (arg == "--zlib") opts.zlib = true;
    else if (arg == "--multiplex") opts.multiplex = true;
    else if (arg == "--control-stdin") opts.control_stdin = true;
    else usage("unknown argument " + arg);
  }
  if (!one_of(opts.transport, {"tcp", "unix", "tcps", "unixs", "http", "https"})) {
    usage("--transport must be tcp, unix, tcps, unixs, http or https");
  }
  if (!one_of(opts.protocol, {"binary", "compact", "json", "header"})) {
    usage("--protocol must be binary, compact, json or header");
  }
  if (opts.protocol == "header" && opts.framed) {
    usage("--framed does not apply to --protocol header (THeader frames itself)");
  }
  bool secure = one_of(opts.transport, {"tcps", "unixs", "https"});
  if (secure && (opts.cert.empty() || opts.key.empty())) {
    usage("--cert and --key are needed for " + opts.transport);
  }
  bool unix_socket = one_of(opts.transport, {"unix", "unixs"});
  if (unix_socket && opts.path.empty()) usage("--path is needed for " + opts.transport);
  if (!unix_socket && !opts.path.empty()) usage("--path applies to unix and unixs only");
  if (one_of(opts.transport, {"http", "https"}) && (opts.zlib || opts.framed)) {
    usage("--zlib and --framed apply to socket transports only");
  }
  if (one_of(opts.transport, {"http", "https"}) && opts.protocol == "header") {
    usage("--protocol header applies to socket transports only");
  }
  return opts;
}

std::shared_ptr<TSSLSocketFactory> tls_factory(const Options& opts) {
  auto factory = std::make_shared<TSSLSocketFactory>();
  factory->server(true);
  factory->loadCertificate(opts.cert.c_str());
  factory->loadPrivateKey(opts.key.c_str());
  if (!opts.ca.empty()) {  // mutual TLS: the chain is verified, no name is checked
    factory->loadTrustedCertificates(opts.ca.c_str());
    factory->authenticate(true);
  } else {
    factory->authenticate(false);
  }
  return factory;
}

std::shared_ptr<TServerSocket> listener(const Options& opts) {
  if (opts.transport == "tcp" || opts.transport == "http") {
    return std::make_shared<TServerSocket>("127.0.0.1", opts.port);
  }
  if (opts.transport == "tcps" || opts.transport == "https") {
    return std::make_shared<TSSLServerSocket>("127.0.0.1", opts.port, tls_factory(opts));
  }
  if (opts.transport == "unix") return std::make_shared<TServerSocket>(opts.path);
  return std::make_shared<UnixSSLServerSocket>(opts.path, tls_factory(opts));
}

}  // namespace

int main(int argc, char** argv) {
  Options opts = parse_args(argc, argv);
  signal(SIGPIPE, SIG_IGN);  // a client that hangs up mid-reply is an error, not our death
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  if (!opts.path.empty()) g_socket_path = opts.path.c_str();
  if (opts.control_stdin) {
    std::thread([] {
      char buffer[256];
      while (read(STDIN_FILENO, buffer, sizeof buffer) > 0) {
      }
      on_signal(SIGTERM);  // the parent is gone
    }).detach();
  }

  auto handler = std::make_shared<Handler>();
  std::shared_ptr<TProcessor> processor = std::make_shared<CalculatorProcessor>(handler);
  if (opts.multiplex) {
    auto multiplexed = std::make_shared<TMultiplexedProcessor>();
    multiplexed->registerProcessor("Calculator", std::make_shared<CalculatorProcessor>(handler));
    multiplexed->registerProcessor("Greeter", std::make_shared<GreeterProcessor>(handler));
    processor = multiplexed;
  }
  bool header = opts.protocol == "header";
  std::shared_ptr<TProtocolFactory> protocol;
  if (header && opts.zlib) protocol = std::make_shared<ZlibHeaderProtocolFactory>();
  else if (header) protocol = std::make_shared<THeaderProtocolFactory>();
  else if (opts.protocol == "compact") protocol = std::make_shared<TCompactProtocolFactory>();
  else if (opts.protocol == "json") protocol = std::make_shared<TJSONProtocolFactory>();
  else protocol = std::make_shared<TBinaryProtocolFactory>();

  try {
    std::shared_ptr<TTransportFactory> stack;
    if (opts.transport == "http" || opts.transport == "https") {
      stack = std::make_shared<THttpServerTransportFactory>();
    } else {
      stack = std::make_shared<StackFactory>(opts.framed, opts.zlib && !header);
    }
    auto socket = listener(opts);
    TThreadedServer server(processor, socket, stack, protocol);
    // THeader: one protocol object reads and writes a connection (TServerFramework's rule
    // when there is no output protocol factory).
    if (header) server.setOutputProtocolFactory(nullptr);
    server.setServerEventHandler(std::make_shared<ReadyPrinter>(socket));
    server.serve();
  } catch (const std::exception& e) {
    std::cerr << "cpp_server: " << e.what() << "\n";
  }
  if (g_socket_path != nullptr) unlink(g_socket_path);
  return 1;  // serve() returns only when the server fails
}
