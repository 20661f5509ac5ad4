// The benchmark service: small calls, a large binary echo, a large list reply.
namespace js Bench

struct Point {
  1: i32 x
  2: i32 y
}

service Bench {
  i32 add(1: i32 a, 2: i32 b)
  binary echo(1: binary b)
  // n points, Point(i, -i) for i in [0, n)
  list<Point> points(1: i32 n)
}
