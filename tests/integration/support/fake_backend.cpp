#include "support/fake_backend.h"

#include <thread>

#include "common/strings.h"

namespace mg::test {

std::vector<std::string> recorded_request::header(const std::string& name) const {
    std::vector<std::string> out;
    const auto want = lower(name);
    for (const auto& [n, v] : headers) {
        if (n == want) out.push_back(v);
    }
    return out;
}

fake_backend::fake_backend() {
    auto routes = std::make_shared<http::router>();
    auto record = [this](const http::request& req) {
        fake_response answer;
        {
            std::lock_guard lock(mu_);
            recorded_request r{
                std::string(req.target()), std::string(req[http::bhttp::field::content_type]),
                std::string(req[http::bhttp::field::content_encoding]), req.body(), status_};
            for (const auto& f : req.base())
                r.headers.emplace_back(lower(f.name_string()), std::string(f.value()));
            if (responder_) {
                answer = responder_(r, requests_.size());
            } else {
                answer.status = status_;
            }
            r.status = answer.status;
            requests_.push_back(std::move(r));
        }
        cv_.notify_all();
        // A slow backend: the delay is the behaviour under test, not a wait for a condition.
        if (answer.delay.count() > 0) std::this_thread::sleep_for(answer.delay);
        auto res = http::make_response(req, static_cast<http::bhttp::status>(answer.status), "");
        if (!answer.retry_after.empty())
            res.set(http::bhttp::field::retry_after, answer.retry_after);
        return res;
    };
    routes->add(http::bhttp::verb::post, "/api/v1/write", record);
    routes->add(http::bhttp::verb::post, "/v1/metrics", record);
    server_ = std::make_unique<loopback_server>(
        http::server_options{.name = "fake-backend", .max_body_size = 256 * 1024 * 1024}, routes);
}

fake_backend::~fake_backend() = default;

std::string fake_backend::url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port()) + path;
}

void fake_backend::set_status(int status) {
    std::lock_guard lock(mu_);
    status_ = status;
}

void fake_backend::set_responder(fake_responder responder) {
    std::lock_guard lock(mu_);
    responder_ = std::move(responder);
}

bool fake_backend::wait_until(const std::function<bool(const std::vector<recorded_request>&)>& pred,
                              std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return pred(requests_); });
}

std::vector<recorded_request> fake_backend::requests() const {
    std::lock_guard lock(mu_);
    return requests_;
}

}  // namespace mg::test
