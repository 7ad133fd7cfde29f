#include "export/delivery.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <string>

#include "logging/log.h"

namespace mg::exporter {

namespace asio = boost::asio;

namespace {

constexpr std::size_t k_logged_body = 512;  // of a backend's error response
constexpr auto k_max_retry_after = std::chrono::minutes(10);
constexpr auto k_partial_log_interval = std::chrono::minutes(1);

std::string truncate(std::string_view s, std::size_t n) {
    if (s.size() <= n) return std::string(s);
    return std::string(s.substr(0, n)) + "...(truncated)";
}

}  // namespace

// An upstream request and what is left of it after splits. Strand only.
struct delivery::job {
    explicit job(const http_client::strand& s) : timer(s) {}
    std::deque<payload> parts;  // in wire encoding; front() is being sent
    std::uint64_t bytes = 0;
    lane_ref where;
    std::size_t payloads = 0;
    std::vector<std::uint64_t> disk_ids;
    bool keep_on_disk = false;  // aborted at shutdown: not acknowledged
    unsigned attempt = 0;       // retries of the front part so far
    std::optional<std::chrono::steady_clock::time_point> failing_since;
    bool warned = false;
    asio::steady_timer timer;
};

delivery::delivery(http_client::strand strand, std::unique_ptr<transport> wire,
                   backoff_policy backoff, std::chrono::nanoseconds max_retry_time,
                   collaborators with)
    : strand_(std::move(strand)),
      wire_(std::move(wire)),
      backoff_(std::move(backoff)),
      max_retry_time_(max_retry_time),
      queue_(with.queue),
      disk_(with.disk),
      metrics_(with.metrics),
      clock_(with.clock) {}

delivery::~delivery() = default;

void delivery::start(outgoing_batch b) {
    auto j = std::make_shared<job>(strand_);
    j->bytes = b.bytes;
    j->where = b.where;
    j->payloads = b.payloads;
    j->disk_ids = std::move(b.disk_ids);
    if (b.body) j->parts.push_back(std::move(*b.body));
    {
        std::lock_guard lock(in_flight_mu_);
        ++in_flight_;
    }
    asio::post(strand_, [this, j] { start_job(j); });
}

void delivery::abort() {
    aborting_.store(true, std::memory_order_release);
    asio::post(strand_, [this] {
        for (const auto& j : jobs_) j->timer.cancel();
        wire_->close_all();
    });
}

void delivery::wait_idle() {
    // Aborted jobs finish promptly: their sends and timers are cancelled.
    std::unique_lock lock(in_flight_mu_);
    in_flight_cv_.wait(lock, [&] { return in_flight_ == 0; });
}

void delivery::start_job(const job_ptr& j) {
    jobs_.insert(j);
    next_attempt(j);
}

void delivery::finish_job(const job_ptr& j) {
    jobs_.erase(j);
    if (disk_ != nullptr && !j->keep_on_disk && !j->disk_ids.empty()) {
        disk_->ack(j->disk_ids);
        metrics_.set_disk_bytes(disk_->bytes());
    }
    queue_.release(j->where, j->payloads, j->bytes);
    metrics_.set_queue_bytes(queue_.bytes());
    {
        std::lock_guard lock(in_flight_mu_);
        --in_flight_;
    }
    in_flight_cv_.notify_all();
}

void delivery::next_attempt(const job_ptr& j) {
    if (j->parts.empty()) return finish_job(j);
    if (aborting_.load(std::memory_order_acquire)) {
        // With a disk queue the job's records stay on disk (even parts of it that were sent
        // after a split: at-least-once) and its data stays outstanding.
        if (disk_ != nullptr) {
            j->keep_on_disk = true;
        } else {
            for (const auto& p : j->parts) metrics_.dropped(p.series, p.points, "shutdown");
        }
        j->parts.clear();
        return finish_job(j);
    }
    // The front part stays where it is while it is sent (a deque keeps its address).
    wire_->async_send(j->parts.front(),
                      [this, j](send_outcome out) { on_outcome(j, std::move(out)); });
}

void delivery::on_outcome(const job_ptr& j, send_outcome out) {
    if (!out.code.empty()) metrics_.responded(out.code);
    if (!out.error_reason.empty()) metrics_.error(out.error_reason);
    switch (out.what) {
        case send_outcome::verdict::delivered: {
            const payload& p = j->parts.front();
            metrics_.sent(p.series, p.points);
            if (out.rejected_points > 0 || !out.rejected_message.empty()) note_partial_success(out);
            if (j->warned) {
                logging::info("export request delivered after retries", {{"retries", j->attempt}});
            }
            return next_part(j);
        }
        case send_outcome::verdict::too_large:
            return split(j, out);
        case send_outcome::verdict::retry:
            return retry_later(j, out);
        case send_outcome::verdict::rejected:
            reject(j, out, "rejected");
            return next_part(j);
    }
}

void delivery::split(const job_ptr& j, const send_outcome& out) {
    const payload& p = j->parts.front();
    payload first;
    payload second;
    if (auto st = split_in_half(p, first, second); st.ok()) {
        logging::warn("backend refused a batch as too large; splitting it",
                      {{"series", p.series}, {"halves", {first.series, second.series}}});
        j->parts.pop_front();
        j->parts.push_front(std::move(second));
        j->parts.push_front(std::move(first));
        j->attempt = 0;
        j->failing_since.reset();
        return next_attempt(j);
    }
    reject(j, out, "too_large");
    next_part(j);
}

void delivery::reject(const job_ptr& j, const send_outcome& out, const std::string& reason) {
    const payload& p = j->parts.front();
    logging::warn("backend rejected an export request; its data is dropped",
                  {{"code", out.code},
                   {"reason", reason},
                   {"series", p.series},
                   {"datapoints", p.points},
                   {"message", truncate(out.message, k_logged_body)},
                   {"response", truncate(out.body, k_logged_body)}});
    metrics_.dropped(p.series, p.points, reason);
}

// The points were delivered as far as the exporter's accounting goes (the backend answered
// success); what it refused inside the request is its decision, reported to the operator.
void delivery::note_partial_success(const send_outcome& out) {
    metrics_.backend_rejected(out.rejected_points);
    partial_rejected_ += out.rejected_points;
    const auto now = clock_.monotonic_now();
    if (partial_logged_at_ && now - *partial_logged_at_ < k_partial_log_interval) return;
    logging::warn(
        "backend accepted export requests but refused some data points "
        "(partial_success; logged at most once a minute)",
        {{"rejected_datapoints", partial_rejected_},
         {"message", truncate(out.rejected_message, k_logged_body)}});
    partial_logged_at_ = now;
    partial_rejected_ = 0;
}

void delivery::next_part(const job_ptr& j) {
    j->parts.pop_front();
    j->attempt = 0;
    j->failing_since.reset();
    j->warned = false;
    next_attempt(j);
}

void delivery::retry_later(const job_ptr& j, const send_outcome& out) {
    if (aborting_.load(std::memory_order_acquire)) return next_attempt(j);  // drops
    const auto now = clock_.monotonic_now();
    if (!j->failing_since) j->failing_since = now;
    if (max_retry_time_.count() > 0 && now - *j->failing_since >= max_retry_time_) {
        reject(j, out, "retries_exhausted");
        return next_part(j);
    }
    const auto delay = out.retry_after
                           ? std::min<std::chrono::nanoseconds>(*out.retry_after, k_max_retry_after)
                           : backoff_.next_delay(j->attempt);
    ++j->attempt;
    metrics_.retried();
    const logging::fields f = {
        {"reason", out.error_reason},
        {"code", out.code},
        {"error", out.message},
        {"attempt", j->attempt},
        {"delay_ms", std::chrono::duration_cast<std::chrono::milliseconds>(delay).count()}};
    if (!j->warned) {
        logging::warn("export request failed; retrying", f);
        j->warned = true;
    } else {
        logging::debug("export request failed again; retrying", f);
    }
    j->timer.expires_after(delay);
    j->timer.async_wait([this, j](boost::system::error_code) { next_attempt(j); });
}

}  // namespace mg::exporter
