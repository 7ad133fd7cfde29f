// Finding and starting the tests' peers (see peers.h).
#include "support/peers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>
#include <stdexcept>

namespace mg::test {

std::string find_program(const std::string& name) {
    std::vector<std::string> dirs;
    if (const char* path = std::getenv("PATH")) {
        std::stringstream ss(path);
        std::string d;
        while (std::getline(ss, d, ':')) {
            if (!d.empty()) dirs.push_back(d);
        }
    }
    for (const char* d : {"/usr/bin", "/usr/local/bin", "/usr/sbin", "/bin"}) dirs.emplace_back(d);
    for (const auto& d : dirs) {
        const auto candidate = d + "/" + name;
        if (access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    return {};
}

std::vector<std::string> peer_command(const std::string& bin,
                                      const std::vector<std::string>& args) {
    std::vector<std::string> argv;
    if (const auto setpriv = find_program("setpriv"); !setpriv.empty())
        argv = {setpriv, "--pdeathsig", "KILL", "--"};
    argv.push_back(bin);
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}

reserved_port::reserved_port() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket failed");
    const int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        throw std::runtime_error("bind failed");
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
}

void reserved_port::release() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
}

}  // namespace mg::test
