// byte_io: little-endian fixed-width fields appended to and read from a byte string, the
// primitives of the tracker and increment file formats (tracker_codec, increment_codec).
// Value types over caller-owned memory; not synchronized.
#pragma once

#include <bit>
#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

namespace mg::persistence::detail {

static_assert(std::endian::native == std::endian::little, "the file formats are little-endian");

class writer {
  public:
    explicit writer(std::string& out) : out_(out) {}
    template <typename T>
    void put(T v) {
        char b[sizeof(T)];
        std::memcpy(b, &v, sizeof(T));
        out_.append(b, sizeof(T));
    }
    void bytes(std::string_view s) { out_.append(s); }

  private:
    std::string& out_;
};

// Every read is bounds-checked: false when the input is too short (a truncated file).
class reader {
  public:
    explicit reader(std::string_view in) : in_(in) {}
    template <typename T>
    bool get(T& v) {
        if (in_.size() < sizeof(T)) return false;
        std::memcpy(&v, in_.data(), sizeof(T));
        in_.remove_prefix(sizeof(T));
        return true;
    }
    bool bytes(std::size_t n, std::string_view& out) {
        if (in_.size() < n) return false;
        out = in_.substr(0, n);
        in_.remove_prefix(n);
        return true;
    }
    std::size_t left() const { return in_.size(); }

  private:
    std::string_view in_;
};

}  // namespace mg::persistence::detail
