// The typed-generation test IDL: Apache's tutorial ground plus every Thrift type.
include "shared.thrift"

namespace py typed_tutorial
namespace js TypedTutorial

typedef i32 MyInteger
typedef list<string> Names
typedef shared.SharedStruct Shared

const i32 INT32CONSTANT = 9853
const string GREETING = "hello"
const list<i32> PRIMES = [2, 3, 5]
const map<string, string> MAPCONSTANT = {"hello": "world", "goodnight": "moon"}
const shared.Color DEFAULT_COLOR = shared.Color.GREEN
const i64 BIG_CONSTANT = 1234567890123

enum Operation {
  ADD = 1
  SUBTRACT = 2
  MULTIPLY = 3
  DIVIDE = 4
}

struct Work {
  1: i32 num1 = 0
  2: i32 num2
  3: Operation op
  4: optional string comment
}

exception InvalidOperation {
  1: i32 whatOp
  2: string why
}

union Value {
  1: i64 big
  2: string text
  3: Work work
}

// A union whose field has a default: the generated class always sets it.
union Tagged {
  1: i32 tag = 1
  2: string label
}

struct AllTypes {
  1: bool b = true
  2: i8 i8v
  3: i16 i16v
  4: i32 i32v
  5: i64 i64v
  6: double dbl
  7: string str = "default"
  8: binary bin
  9: list<i32> ints
  10: set<string> strs
  11: map<string, i32> byName
  12: map<i32, string> byId
  13: map<i64, bool> byBig
  14: map<Operation, string> byOp
  15: list<list<Work>> nested
  16: optional shared.SharedStruct shared
  17: MyInteger counted
  18: Names names
  19: required string must
  20: optional Value value
  21: shared.Color color
}

service Calculator extends shared.SharedService {
  void ping()
  i32 add(1: i32 num1, 2: i32 num2)
  i32 calculate(1: i32 logid, 2: Work w) throws (1: InvalidOperation ouch)
  i64 addBig(1: i64 a, 2: i64 b)
  AllTypes roundTrip(1: AllTypes v)
  Value pick(1: Value v)
  map<i32, string> invert(1: map<string, i32> m)
  set<string> unique(1: list<string> items)
  binary reverse(1: binary data)
  Shared share(1: MyInteger key)
  oneway void zip()
  // Echoes [q, limit] as the server received them (limit -1: it was not on the wire).
  list<i32> byId(1: i32 q, 2: i32 limit = 10)
  // stop - start: a default before an argument without one.
  i32 span(1: i32 start = 1, 2: i32 stop)
}
