// The benchmark server: bench/bench.thrift on Apache Thrift's C++ TThreadedServer (Debian's
// libthrift-dev), binary protocol, unframed, one thread per connection. Requests are read
// through a TBufferedTransport; each reply is buffered whole and written when the processor
// flushes it: in one write on the main port, in BYTES-sized writes on the chunked port.
//
//   bench_server [--port N] [--chunk BYTES]
//     prints `READY <port>` once listening (`READY <port> <chunked port>` with --chunk, once
//     both listen); exits on SIGTERM and when stdin closes, so it never outlives the
//     orchestrator. --chunk BYTES: also serve on a second (free) port that writes every reply
//     in BYTES-sized pieces, one socket write each (TCP_NODELAY, TSocket's default).
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <atomic>
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
#include <thrift/transport/TVirtualTransport.h>

#include "Bench.h"

using apache::thrift::protocol::TBinaryProtocolFactory;
using apache::thrift::server::TServerEventHandler;
using apache::thrift::server::TThreadedServer;
using apache::thrift::transport::TBufferedTransport;
using apache::thrift::transport::TServerSocket;
using apache::thrift::transport::TTransport;
using apache::thrift::transport::TTransportFactory;
using apache::thrift::transport::TVirtualTransport;

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

// Reads through a TBufferedTransport (as TBufferedTransportFactory would); writes go to a
// growing buffer that flush() sends whole (chunk 0: one write) or in `chunk`-byte writes.
class ReplyTransport : public TVirtualTransport<ReplyTransport> {
 public:
  ReplyTransport(std::shared_ptr<TTransport> socket, uint32_t chunk)
      : socket_(socket), in_(std::make_shared<TBufferedTransport>(socket)), chunk_(chunk) {}

  bool isOpen() const override { return socket_->isOpen(); }
  bool peek() override { return in_->peek(); }
  void open() override { socket_->open(); }
  void close() override {
    flush();
    socket_->close();
  }
  const std::string getOrigin() const override { return socket_->getOrigin(); }

  uint32_t read(uint8_t* buf, uint32_t len) { return in_->read(buf, len); }
  uint32_t readAll(uint8_t* buf, uint32_t len) { return in_->readAll(buf, len); }
  uint32_t readEnd() override { return in_->readEnd(); }

  void write(const uint8_t* buf, uint32_t len) {
    if (used_ + len > out_.size()) out_.resize(std::max(2 * out_.size(), used_ + len));
    std::memcpy(out_.data() + used_, buf, len);
    used_ += len;
  }
  void flush() override {
    const size_t step = chunk_ == 0 ? used_ : chunk_;
    for (size_t at = 0; at < used_; at += step) {
      socket_->write(out_.data() + at, static_cast<uint32_t>(std::min(step, used_ - at)));
    }
    used_ = 0;
    socket_->flush();
  }

 private:
  std::shared_ptr<TTransport> socket_;
  std::shared_ptr<TBufferedTransport> in_;
  uint32_t chunk_;
  std::vector<uint8_t> out_ = std::vector<uint8_t>(4096);
  size_t used_ = 0;
};

class ReplyTransportFactory : public TTransportFactory {
 public:
  explicit ReplyTransportFactory(uint32_t chunk) : chunk_(chunk) {}
  std::shared_ptr<TTransport> getTransport(std::shared_ptr<TTransport> trans) override {
    return std::make_shared<ReplyTransport>(trans, chunk_);
  }

 private:
  uint32_t chunk_;
};

// Prints READY once every server's serve() has called listen(), so the ports are real.
class ReadyPrinter : public TServerEventHandler {
 public:
  explicit ReadyPrinter(std::vector<std::shared_ptr<TServerSocket>> sockets)
      : sockets_(std::move(sockets)), waiting_(static_cast<int>(sockets_.size())) {}
  void preServe() override {
    if (--waiting_ != 0) return;
    std::string line = "READY";
    for (const auto& s : sockets_) line += " " + std::to_string(s->getPort());
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  }

 private:
  std::vector<std::shared_ptr<TServerSocket>> sockets_;
  std::atomic<int> waiting_;
};

void on_signal(int) { _exit(0); }

}  // namespace

int main(int argc, char** argv) {
  int port = 0;
  int chunk = 0;
  for (int i = 1; i < argc; i++) {
    if (std::strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
      port = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--chunk") == 0 && i + 1 < argc && std::atoi(argv[i + 1]) > 0) {
      chunk = std::atoi(argv[++i]);
    } else {
      std::cerr << "usage: bench_server [--port N] [--chunk BYTES]\n";
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

  auto processor = std::make_shared<BenchProcessor>(std::make_shared<Handler>());
  std::vector<std::shared_ptr<TServerSocket>> sockets{
      std::make_shared<TServerSocket>("127.0.0.1", port)};
  if (chunk > 0) sockets.push_back(std::make_shared<TServerSocket>("127.0.0.1", 0));
  auto ready = std::make_shared<ReadyPrinter>(sockets);
  std::vector<std::unique_ptr<TThreadedServer>> servers;
  for (size_t i = 0; i < sockets.size(); i++) {
    servers.push_back(std::make_unique<TThreadedServer>(
        processor, sockets[i], std::make_shared<ReplyTransportFactory>(i == 0 ? 0 : chunk),
        std::make_shared<TBinaryProtocolFactory>()));
    servers.back()->setServerEventHandler(ready);
  }
  if (servers.size() > 1) std::thread([&] { servers[1]->serve(); }).detach();
  servers[0]->serve();
  return 0;
}
