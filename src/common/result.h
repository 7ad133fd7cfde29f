// result<T>: a value or an error message, for code paths where failure is expected input
// (parsing, decoding, validation) and exceptions would be the wrong tool.
// Value type; not synchronized. The message is meant for a human: it becomes a 4xx body, a
// config error line or a log field.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace mg {

struct error {
    std::string message;
};

inline error make_error(std::string message) {
    return error{std::move(message)};
}

template <typename T>
class result {
  public:
    result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design, like std::expected
    result(error e) : v_(std::move(e)) {}      // NOLINT

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    const std::string& error_message() const { return std::get<1>(v_).message; }

  private:
    std::variant<T, error> v_;
};

// status: success or an error message.
class status {
  public:
    status() = default;
    status(error e) : message_(std::move(e.message)), ok_(false) {}  // NOLINT
    static status success() { return {}; }

    bool ok() const { return ok_; }
    explicit operator bool() const { return ok_; }
    const std::string& error_message() const { return message_; }

  private:
    std::string message_;
    bool ok_ = true;
};

}  // namespace mg
