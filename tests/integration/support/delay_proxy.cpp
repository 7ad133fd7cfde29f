// The delaying TCP forwarder (see delay_proxy.h), on plain POSIX sockets.
#include "support/delay_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <stdexcept>
#include <string>

namespace mg::test {

namespace {

using steady = std::chrono::steady_clock;

int connect_to(unsigned short port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        return -1;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

// One direction: what `from` sends reaches `to` one_way later.
class direction {
  public:
    direction(int from, int to, std::chrono::milliseconds one_way)
        : from_(from), to_(to), one_way_(one_way) {
        reader_ = std::thread([this] { read_loop(); });
        writer_ = std::thread([this] { write_loop(); });
    }
    ~direction() {
        stop();
        reader_.join();
        writer_.join();
    }
    void stop() {
        {
            std::lock_guard lock(mu_);
            stopped_ = true;
        }
        cv_.notify_all();
        // Unblocks the reader's recv and a writer stuck in send to a peer that stopped reading.
        ::shutdown(from_, SHUT_RDWR);
        ::shutdown(to_, SHUT_RDWR);
    }

  private:
    void read_loop() {
        char buf[65536];
        for (;;) {
            const auto n = ::recv(from_, buf, sizeof buf, 0);
            if (n < 0 && errno == EINTR) continue;
            std::lock_guard lock(mu_);
            if (n <= 0 || stopped_) {
                eof_ = true;
                cv_.notify_all();
                return;
            }
            chunks_.push_back(
                {steady::now() + one_way_, std::string(buf, static_cast<std::size_t>(n))});
            cv_.notify_all();
        }
    }
    void write_loop() {
        std::unique_lock lock(mu_);
        for (;;) {
            cv_.wait(lock, [this] { return stopped_ || eof_ || !chunks_.empty(); });
            if (stopped_) return;
            if (chunks_.empty()) {  // the sender closed and everything was delivered
                ::shutdown(to_, SHUT_WR);
                return;
            }
            const auto due = chunks_.front().due;
            if (steady::now() < due) {
                cv_.wait_until(lock, due, [this] { return stopped_; });
                continue;
            }
            std::string data = std::move(chunks_.front().data);
            chunks_.pop_front();
            lock.unlock();
            std::string_view rest = data;
            while (!rest.empty()) {
                const auto n = ::send(to_, rest.data(), rest.size(), MSG_NOSIGNAL);
                if (n < 0 && errno == EINTR) continue;
                if (n <= 0) break;
                rest.remove_prefix(static_cast<std::size_t>(n));
            }
            lock.lock();
        }
    }

    struct chunk {
        steady::time_point due;
        std::string data;
    };
    int from_;
    int to_;
    std::chrono::milliseconds one_way_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<chunk> chunks_;
    bool eof_ = false;
    bool stopped_ = false;
    std::thread reader_;
    std::thread writer_;
};

}  // namespace

struct delay_proxy::pipe {
    pipe(int client, int server, std::chrono::milliseconds one_way)
        : client_fd(client),
          server_fd(server),
          up(client, server, one_way),
          down(server, client, one_way) {}
    ~pipe() {
        up.stop();
        down.stop();
        // The directions join in their destructors (members, after this body); then close.
    }
    int client_fd;
    int server_fd;
    direction up;
    direction down;
};

delay_proxy::delay_proxy(unsigned short target_port, std::chrono::milliseconds one_way)
    : target_port_(target_port), one_way_(one_way) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0)
        throw std::runtime_error("delay_proxy: socket: " + std::string(strerror(errno)));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = 0;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(listen_fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 128) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        const int err = errno;
        ::close(listen_fd_);
        throw std::runtime_error("delay_proxy: listen: " + std::string(strerror(err)));
    }
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
}

delay_proxy::~delay_proxy() {
    stopping_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    acceptor_.join();
    ::close(listen_fd_);
    std::vector<std::shared_ptr<pipe>> pipes;
    {
        std::lock_guard lock(mu_);
        pipes.swap(pipes_);
    }
    std::vector<std::pair<int, int>> fds;
    for (const auto& p : pipes) fds.emplace_back(p->client_fd, p->server_fd);
    pipes.clear();  // stops and joins every direction
    for (const auto& [c, s] : fds) {
        ::close(c);
        ::close(s);
    }
}

void delay_proxy::accept_loop() {
    while (!stopping_) {
        pollfd p{listen_fd_, POLLIN, 0};
        const int ready = ::poll(&p, 1, 100);
        if (ready <= 0) continue;
        const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (client < 0) continue;
        const int one = 1;
        ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        const int server = connect_to(target_port_);
        if (server < 0) {
            ::close(client);
            continue;
        }
        ++connections_;
        std::lock_guard lock(mu_);
        pipes_.push_back(std::make_shared<pipe>(client, server, one_way_));
    }
}

}  // namespace mg::test
