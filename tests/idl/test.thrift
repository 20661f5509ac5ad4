// The test service the suite generates clients and servers from.
namespace py thrift_test
namespace js ThriftTest

struct Point {
  1: i32 x
  2: i32 y
}

struct Nested {
  1: string name
  2: i64 id
  3: binary blob
  4: list<Point> points
  5: map<string, i32> counts
  6: set<string> tags
  7: optional Point origin
}

exception NotFound {
  1: string message
  2: i32 code
}

service Calculator {
  i32 add(1: i32 a, 2: i32 b)
  string echoString(1: string s)
  i64 echoI64(1: i64 v)
  // Answers the map it got: i64 keys must survive both ways.
  map<i64, string> echoI64Map(1: map<i64, string> m)
  binary echoBinary(1: binary b)
  Nested echoNested(1: Nested n)
  // Throws NotFound with the given message and code 404.
  void fail(1: string message) throws (1: NotFound notFound)
  // Raises an undeclared server error (a TApplicationException on the client).
  void crash()
  // Sleeps ms milliseconds, then returns ms.
  i32 sleep(1: i32 ms)
  oneway void notify(1: string message)
  // The messages received by notify, in order.
  list<string> notified()
  // The value of the named request header (HTTP servers only, "" elsewhere).
  string header(1: string name)
}

service Greeter {
  string greet(1: string name)
}
