// Included by tutorial.thrift: a base service and the types it uses.
namespace py typed_shared
namespace js TypedShared

enum Color {
  RED = 1
  GREEN = 2
  BLUE = 7
}

struct SharedStruct {
  1: i32 key
  2: string value
}

exception SharedError {
  1: string reason
}

service SharedService {
  SharedStruct getStruct(1: i32 key) throws (1: SharedError err)
  Color favorite(1: Color c)
}
