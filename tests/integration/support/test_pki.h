// test_pki: certificates made for one test with the openssl command line (no key is committed):
// a server CA and the server's certificate for 127.0.0.1, a client CA with a client certificate,
// and a client certificate of an unrelated CA. Used by the TLS tests of the daemon's listeners
// (access_test.cpp) and of the Redis client (cluster_redis_tls_test.cpp).
// Header-only; each object owns its temporary directory; construction throws when openssl fails.
#pragma once

#include <cstdlib>
#include <stdexcept>
#include <string>

#include "shared/temp_dir.h"

namespace mg::test {

struct test_pki {
    temp_dir dir;
    std::string ca, server_cert, server_key, client_ca, client_cert, client_key, rogue_cert,
        rogue_key;

    test_pki() {
        const auto d = dir.path();
        auto run = [](const std::string& cmd) {
            const int rc = std::system((cmd + " >/dev/null 2>&1").c_str());
            if (rc != 0) throw std::runtime_error("openssl failed: " + cmd);
        };
        const std::string key_opts = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
        auto make_ca = [&](const std::string& name) {
            run("openssl req -x509 " + key_opts + " -days 2 -subj /CN=" + name + " -keyout " + d +
                "/" + name + ".key -out " + d + "/" + name + ".pem");
            return d + "/" + name + ".pem";
        };
        auto make_leaf = [&](const std::string& name, const std::string& ca_name,
                             const std::string& ext) {
            dir.write(name + ".ext", ext + "\n");
            run("openssl req " + key_opts + " -subj /CN=" + name + " -keyout " + d + "/" + name +
                ".key -out " + d + "/" + name + ".csr");
            run("openssl x509 -req -days 2 -in " + d + "/" + name + ".csr -CA " + d + "/" +
                ca_name + ".pem -CAkey " + d + "/" + ca_name + ".key -CAcreateserial -out " + d +
                "/" + name + ".pem -extfile " + d + "/" + name + ".ext");
        };
        ca = make_ca("server-ca");
        make_leaf("server", "server-ca", "subjectAltName=IP:127.0.0.1");
        server_cert = d + "/server.pem";
        server_key = d + "/server.key";
        client_ca = make_ca("client-ca");
        make_leaf("client", "client-ca", "extendedKeyUsage=clientAuth");
        client_cert = d + "/client.pem";
        client_key = d + "/client.key";
        make_ca("rogue-ca");
        make_leaf("rogue", "rogue-ca", "extendedKeyUsage=clientAuth");
        rogue_cert = d + "/rogue.pem";
        rogue_key = d + "/rogue.key";
    }
};

}  // namespace mg::test
