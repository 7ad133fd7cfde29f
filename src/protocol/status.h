// decode_status: the outcome of decoding or decompressing untrusted input.
// Unlike mg::status it carries a failure class, because the HTTP layer answers differently:
// errc::malformed -> 400 (bad snappy, truncated protobuf, invalid UTF-8, bad labels, ...),
// errc::too_large -> 413 (a body or a decompressed body past its configured bound).
// Value type; not synchronized. Building a failure allocates its message; success never does.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

namespace mg::protocol {

enum class errc : std::uint8_t { ok = 0, malformed, too_large };

class decode_status {
  public:
    decode_status() = default;
    static decode_status success() { return {}; }
    static decode_status malformed(std::string message) {
        return decode_status(errc::malformed, std::move(message));
    }
    static decode_status too_large(std::string message) {
        return decode_status(errc::too_large, std::move(message));
    }

    bool ok() const { return code_ == errc::ok; }
    explicit operator bool() const { return ok(); }
    errc code() const { return code_; }
    const std::string& error_message() const { return message_; }

  private:
    decode_status(errc c, std::string m) : message_(std::move(m)), code_(c) {}
    std::string message_;
    errc code_ = errc::ok;
};

}  // namespace mg::protocol
