#include "cardinality/series_hash.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace mg::cardinality {
namespace {

bool label_less(const label_view& a, const label_view& b) {
    if (a.name != b.name) return a.name < b.name;
    return a.value < b.value;
}

// Insertion sort: label sets are short and usually nearly sorted; no allocation, no recursion.
void small_sort(label_view* first, std::size_t n) {
    for (std::size_t i = 1; i < n; ++i) {
        label_view x = first[i];
        std::size_t j = i;
        while (j > 0 && label_less(x, first[j - 1])) {
            first[j] = first[j - 1];
            --j;
        }
        first[j] = x;
    }
}

constexpr std::string_view k_name_label = "__name__";

// Protobuf base-128 varint of v at p; returns the end.
inline unsigned char* put_varint(unsigned char* p, std::uint64_t v) {
    while (v >= 0x80) {
        *p++ = static_cast<unsigned char>(v | 0x80);
        v >>= 7;
    }
    *p++ = static_cast<unsigned char>(v);
    return p;
}

inline std::size_t varint_size(std::uint64_t v) {
    std::size_t n = 1;
    for (; v >= 0x80; v >>= 7) ++n;
    return n;
}

// The most one label's framing takes: three keys and three 10-byte varints.
constexpr std::size_t k_label_overhead = 33;

// Writes the field header of one Label, `0x0a len 0x0a ln`, at p: what precedes the name.
inline unsigned char* put_label_head(unsigned char* p, std::size_t ln, std::size_t vn) {
    *p++ = 0x0a;
    p = put_varint(p, 2 + varint_size(ln) + ln + varint_size(vn) + vn);
    *p++ = 0x0a;
    return put_varint(p, ln);
}

// Copies n bytes with fixed-size moves: label names and values are short, and a variable-size
// memcpy call per string cost more than the hash itself (about 7 ns each on the benchmark
// machine). Overlapping head and tail moves cover every length up to 32 without a loop; the
// common lengths (up to 16) are tested first.
inline void copy_short(unsigned char* dst, const char* src, std::size_t n) {
    if (n <= 16) {
        if (n >= 8) {
            std::memcpy(dst, src, 8);
            std::memcpy(dst + n - 8, src + n - 8, 8);
        } else if (n >= 4) {
            std::memcpy(dst, src, 4);
            std::memcpy(dst + n - 4, src + n - 4, 4);
        } else if (n > 0) {
            dst[0] = static_cast<unsigned char>(src[0]);
            dst[n / 2] = static_cast<unsigned char>(src[n / 2]);
            dst[n - 1] = static_cast<unsigned char>(src[n - 1]);
        }
    } else if (n <= 32) {
        std::memcpy(dst, src, 16);
        std::memcpy(dst + n - 16, src + n - 16, 16);
    } else {
        std::memcpy(dst, src, n);
    }
}

class flat_writer {
  public:
    explicit flat_writer(unsigned char* buf) : p_(buf) {}
    void put(std::string_view name, std::string_view value) {
        p_ = put_label_head(p_, name.size(), value.size());
        copy_short(p_, name.data(), name.size());
        p_ += name.size();
        *p_++ = 0x12;
        p_ = put_varint(p_, value.size());
        copy_short(p_, value.data(), value.size());
        p_ += value.size();
    }
    unsigned char* end() const { return p_; }

  private:
    unsigned char* p_;
};

class stream_writer {
  public:
    stream_writer() { XXH3_64bits_reset(&state_); }
    void put(std::string_view name, std::string_view value) {
        unsigned char head[k_label_overhead];
        unsigned char* p = put_label_head(head, name.size(), value.size());
        XXH3_64bits_update(&state_, head, static_cast<std::size_t>(p - head));
        if (!name.empty()) XXH3_64bits_update(&state_, name.data(), name.size());
        p = head;
        *p++ = 0x12;
        p = put_varint(p, value.size());
        XXH3_64bits_update(&state_, head, static_cast<std::size_t>(p - head));
        if (!value.empty()) XXH3_64bits_update(&state_, value.data(), value.size());
    }
    std::uint64_t digest() { return XXH3_64bits_digest(&state_); }

  private:
    XXH3_state_t state_;
};

template <typename Writer>
void encode(Writer& w, std::string_view metric_name, const label_view* labels, std::size_t n) {
    w.put(k_name_label, metric_name);
    for (std::size_t i = 0; i < n; ++i) w.put(labels[i].name, labels[i].value);
}

}  // namespace

std::uint64_t series_hash_sorted(std::string_view metric_name, std::span<const label_view> sorted) {
    // One pass: the room left is checked per label while copying (no separate pass to size the
    // encoding); a set that does not fit is hashed again by the streaming writer.
    alignas(64) unsigned char buf[k_inline_bytes];
    if (metric_name.size() + k_name_label.size() + k_label_overhead <= k_inline_bytes) {
        flat_writer w(buf);
        w.put(k_name_label, metric_name);
        std::size_t i = 0;
        for (; i < sorted.size(); ++i) {
            const label_view& l = sorted[i];
            const auto room = static_cast<std::size_t>(buf + k_inline_bytes - w.end());
            if (l.name.size() + l.value.size() + k_label_overhead > room) break;
            w.put(l.name, l.value);
        }
        if (i == sorted.size()) return XXH3_64bits(buf, static_cast<std::size_t>(w.end() - buf));
    }
    stream_writer w;
    encode(w, metric_name, sorted.data(), sorted.size());
    return w.digest();
}

std::uint64_t series_hash_canonical(const char* bytes, std::size_t n) {
    return XXH3_64bits(bytes, n);
}

// std::is_sorted with label_less, deciding most pairs on the first byte of the names.
static bool labels_sorted(std::span<const label_view> labels) {
    for (std::size_t i = 1; i < labels.size(); ++i) {
        const label_view& a = labels[i - 1];
        const label_view& b = labels[i];
        if (!a.name.empty() && !b.name.empty() &&
            static_cast<unsigned char>(a.name[0]) < static_cast<unsigned char>(b.name[0]))
            continue;
        if (label_less(b, a)) return false;
    }
    return true;
}

std::uint64_t series_hash(std::string_view metric_name, std::span<const label_view> labels) {
    if (labels_sorted(labels)) return series_hash_sorted(metric_name, labels);
    const std::size_t n = labels.size();
    if (n <= k_inline_labels) {
        std::array<label_view, k_inline_labels> inline_copy;
        std::copy(labels.begin(), labels.end(), inline_copy.begin());
        small_sort(inline_copy.data(), n);
        return series_hash_sorted(metric_name, std::span(inline_copy.data(), n));
    }
    std::vector<label_view> heap_copy(labels.begin(), labels.end());
    std::sort(heap_copy.begin(), heap_copy.end(), label_less);
    return series_hash_sorted(metric_name, heap_copy);
}

}  // namespace mg::cardinality
