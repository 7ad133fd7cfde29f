// raw_socket: a client socket for integration tests that can misbehave: send any bytes at any
// pace, leave a request unfinished, and tell when the daemon answered or closed. Plain POSIX
// sockets to 127.0.0.1; header-only test code, one thread per socket.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace mg::test {

using namespace std::chrono_literals;

// A client socket that can misbehave: send any bytes at any pace, and tell when the daemon closed.
class raw_socket {
  public:
    explicit raw_socket(unsigned short port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0) throw std::runtime_error("socket: " + std::string(strerror(errno)));
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
            const int err = errno;
            ::close(fd_);
            throw std::runtime_error("connect: " + std::string(strerror(err)));
        }
    }
    ~raw_socket() {
        if (fd_ >= 0) ::close(fd_);
    }
    raw_socket(raw_socket&& o) noexcept
        : fd_(std::exchange(o.fd_, -1)), received_(std::move(o.received_)) {}
    raw_socket& operator=(raw_socket&& o) noexcept {
        if (this != &o) {
            if (fd_ >= 0) ::close(fd_);
            fd_ = std::exchange(o.fd_, -1);
            received_ = std::move(o.received_);
        }
        return *this;
    }

    // False once the daemon closed or reset the connection.
    bool send(std::string_view bytes) {
        while (!bytes.empty()) {
            const auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return false;
            bytes.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }

    // Waits up to `timeout` for the daemon to close the connection, keeping what it sent first.
    // True when closed (EOF or reset).
    bool wait_closed(std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            pollfd p{fd_, POLLIN, 0};
            const int ready =
                ::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(0, left.count())));
            if (ready < 0 && errno == EINTR) continue;
            if (ready <= 0) return false;
            char buf[65536];
            const auto n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
            if (n == 0) return true;
            if (n < 0) {
                if (errno == EAGAIN || errno == EINTR) continue;
                return true;  // ECONNRESET
            }
            received_.append(buf, static_cast<std::size_t>(n));
        }
    }

    // Reads until a whole response head arrived; its status code, or 0 if the connection closed
    // (or the timeout passed) first.
    int read_status(std::chrono::milliseconds timeout = 10s) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (received_.find("\r\n\r\n") == std::string::npos &&
               std::chrono::steady_clock::now() < deadline) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 100) <= 0) continue;
            char buf[4096];
            const auto n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) break;
            if (n > 0) received_.append(buf, static_cast<std::size_t>(n));
        }
        return status();
    }

    // The status code of the response received so far, 0 if none.
    int status() const {
        if (received_.rfind("HTTP/1.1 ", 0) != 0 || received_.size() < 12) return 0;
        return std::stoi(received_.substr(9, 3));
    }
    const std::string& received() const { return received_; }

  private:
    int fd_ = -1;
    std::string received_;
};

}  // namespace mg::test
