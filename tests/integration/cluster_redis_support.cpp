// The Redis tests' shared parts (see cluster_redis_support.h).
#include "cluster_redis_support.h"

#include <algorithm>
#include <future>

namespace mg::test {

namespace cl = mg::cluster;
namespace asio = boost::asio;
using namespace std::chrono_literals;

io_thread::io_thread() : work_(asio::make_work_guard(ioc_)), thread_([this] { ioc_.run(); }) {}

io_thread::~io_thread() {
    work_.reset();
    ioc_.stop();
    thread_.join();
}

result<cl::redis_reply> call(cl::redis_client& c, std::string_view key,
                             std::vector<std::string> args) {
    auto done = std::make_shared<std::promise<result<cl::redis_reply>>>();
    auto f = done->get_future();
    c.command(key, std::move(args),
              [done](result<cl::redis_reply> r) { done->set_value(std::move(r)); });
    // Not REQUIRE: callers on other threads than the test's (Catch's macros are not
    // thread-safe); the callback itself must have been lost for this to happen.
    if (f.wait_for(10s) != std::future_status::ready) return make_error("no callback in 10 s");
    return f.get();
}

cl::admission_options test_options() {
    cl::admission_options o;
    o.timeout = 5s;
    return o;
}

replica::replica(io_thread& io, unsigned short port, cl::admission_options o)
    : replica(
          io,
          [port] {
              cl::redis_connection_options co;
              co.port = port;
              return co;
          }(),
          std::move(o)) {}

replica::replica(io_thread& io, cl::redis_connection_options co, cl::admission_options o) {
    auto s = io.strand();
    client = cl::redis_connection::create(s, std::move(co));
    store.emplace(client, s, std::move(o));
}

replica::replica(io_thread& io, cl::redis_cluster_options co, cl::admission_options o) {
    auto s = io.strand();
    cluster = cl::redis_cluster::create(s, std::move(co));
    client = cluster;
    store.emplace(client, s, std::move(o));
}

result<cl::admit_reply> replica::admit(const std::string& tracker, std::int64_t limit,
                                       const std::vector<std::uint64_t>& ids,
                                       std::chrono::system_clock::time_point now) {
    auto done = std::make_shared<std::promise<result<cl::admit_reply>>>();
    auto f = done->get_future();
    store->admit(tracker, limit, ids, now,
                 [done](result<cl::admit_reply> r) { done->set_value(std::move(r)); });
    if (f.wait_for(20s) != std::future_status::ready) return make_error("no callback in 20 s");
    return f.get();
}

std::vector<std::uint64_t> ids(std::uint64_t from, std::uint64_t to) {
    std::vector<std::uint64_t> v(to - from);
    for (std::uint64_t i = from; i < to; ++i) v[i - from] = (i + 1) * 0x9e3779b97f4a7c15ULL;
    return v;
}

std::size_t count(const cl::admit_reply& r, cl::admit_code c) {
    return static_cast<std::size_t>(std::count(r.codes.begin(), r.codes.end(), c));
}

}  // namespace mg::test
