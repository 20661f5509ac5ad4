// The benchmark server: bench/bench.thrift on Apache Thrift's C++ TThreadedServer (Debian's
// libthrift-dev), binary protocol, unframed (buffered), one thread per connection.
//
//   bench_server [--port N]    prints `READY <port>` once listening; exits on SIGTERM and
//                              when stdin closes, so it never outlives the orchestrator.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <thrift/protocol/TBinaryProtocol.h>
#include <thrift/server/TThreadedServer.h>
#include <thrift/transport/TBufferTransports.h>
#include <thrift/transport/TServerSocket.h>

#include "Bench.h"

using apache::thrift::protocol::TBinaryProtocolFactory;
using apache::thrift::server::TServerEventHandler;
using apache::thrift::server::TThreadedServer;
using apache::thrift::transport::TBufferedTransportFactory;
using apache::thrift::transport::TServerSocket;

namespace {

class Handler : public BenchIf {
 public:
  int32_t add(const int32_t a, const int32_t b) override {
    return static_cast<int32_t>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b));
  }
  void echo(std::string& out, const std::string& b) override { out = b; }
  void points(std::vector<Point>& out, const int32_t n) override {
    out.resize(n > 0 ? n : 0);
    for (int32_t i = 0; i < n; i++) {
      out[i].x = i;
      out[i].y = -i;
    }
  }
};

// Prints READY once serve() has called listen(), so the port is the real one.
class ReadyPrinter : public TServerEventHandler {
 public:
  explicit ReadyPrinter(std::shared_ptr<TServerSocket> socket) : socket_(std::move(socket)) {}
  void preServe() override {
    std::printf("READY %d\n", socket_->getPort());
    std::fflush(stdout);
  }

 private:
  std::shared_ptr<TServerSocket> socket_;
};

void on_signal(int) { _exit(0); }

}  // namespace

int main(int argc, char** argv) {
  int port = 0;
  for (int i = 1; i < argc; i++) {
    if (std::strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
      port = std::atoi(argv[++i]);
    } else {
      std::cerr << "usage: bench_server [--port N]\n";
      return 2;
    }
  }
  signal(SIGPIPE, SIG_IGN);
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  std::thread([] {
    char buf[256];
    while (read(0, buf, sizeof buf) > 0) {
    }
    _exit(0);  // the orchestrator is gone
  }).detach();

  auto socket = std::make_shared<TServerSocket>("127.0.0.1", port);
  TThreadedServer server(std::make_shared<BenchProcessor>(std::make_shared<Handler>()), socket,
                         std::make_shared<TBufferedTransportFactory>(),
                         std::make_shared<TBinaryProtocolFactory>());
  server.setServerEventHandler(std::make_shared<ReadyPrinter>(socket));
  server.serve();
  return 0;
}
