// Increment file encoding (see increment_codec.h).
#include "persistence/increment_codec.h"

#include <cstring>

#include "persistence/byte_io.h"
#include "persistence/tracker_codec.h"

namespace mg::persistence {
namespace {

using detail::reader;
using detail::writer;

constexpr std::string_view k_magic = "MGBI";

std::int64_t wall_ns(std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

std::string encode_increment(const increment_header& h, const cardinality::tracker_delta& d) {
    std::size_t words = 0;
    for (const auto& s : d.slices) words += s.words.size() + s.chunks.size();
    std::string out;
    out.reserve(64 + h.key.size() + d.latest_counts.size() * 8 + d.slices.size() * 48 + words * 8);
    writer w(out);
    w.bytes(k_magic);
    w.put<std::uint32_t>(k_increment_format);
    w.put<std::uint32_t>(static_cast<std::uint32_t>(h.key.size()));
    w.bytes(h.key);
    w.put<std::uint32_t>(h.base_checksum);
    w.put<std::uint64_t>(h.seq);
    w.put<std::int64_t>(wall_ns(d.taken_at));
    w.put<std::int64_t>(d.current_age.count());
    w.put<std::uint32_t>(d.chunk_blocks);
    w.put<std::uint32_t>(static_cast<std::uint32_t>(d.latest_counts.size()));
    for (const auto c : d.latest_counts) w.put<std::int64_t>(c);
    w.put<std::uint32_t>(static_cast<std::uint32_t>(d.slices.size()));
    for (const auto& s : d.slices) {
        w.put<std::uint64_t>(s.geometry.capacity);
        w.put<std::uint64_t>(s.geometry.n_blocks);
        w.put<double>(s.geometry.fp_rate);
        w.put<std::uint64_t>(s.items);
        w.put<std::uint64_t>(s.chunks.size());
        // Ascending indexes as LEB128 deltas: 1-3 bytes each instead of 8, next to 64-byte chunks.
        std::uint64_t prev = 0;
        for (const auto c : s.chunks) {
            for (std::uint64_t v = c - prev;; v >>= 7) {
                const auto byte = static_cast<std::uint8_t>(v & 0x7f);
                if (v < 0x80) {
                    w.put<std::uint8_t>(byte);
                    break;
                }
                w.put<std::uint8_t>(byte | 0x80);
            }
            prev = c;
        }
        w.put<std::uint64_t>(s.words.size());
        w.bytes(std::string_view(reinterpret_cast<const char*>(s.words.data()),
                                 s.words.size() * sizeof(std::uint64_t)));
    }
    return out;
}

result<decoded_increment> decode_increment(std::string_view payload,
                                           std::string_view expected_key) {
    reader r(payload);
    std::string_view magic;
    if (!r.bytes(k_magic.size(), magic) || magic != k_magic)
        return make_error("not an increment file (bad magic)");
    std::uint32_t format = 0, key_len = 0;
    if (!r.get(format)) return make_error("truncated header");
    if (format != k_increment_format)
        return make_error("unsupported increment format " + std::to_string(format) +
                          " (this build reads " + std::to_string(k_increment_format) + ")");
    std::string_view key;
    if (!r.get(key_len) || !r.bytes(key_len, key)) return make_error("truncated key");
    if (!expected_key.empty() && key != expected_key)
        return make_error("increment of tracker \"" + std::string(key) +
                          "\", not the expected one");
    decoded_increment out;
    out.header.key = std::string(key);
    auto& d = out.delta;
    std::int64_t taken = 0, age = 0;
    std::uint32_t n_gen = 0;
    if (!r.get(out.header.base_checksum) || !r.get(out.header.seq) || !r.get(taken) ||
        !r.get(age) || !r.get(d.chunk_blocks) || !r.get(n_gen))
        return make_error("truncated header");
    d.taken_at = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::nanoseconds(taken)));
    d.current_age = std::chrono::nanoseconds(age);
    if (n_gen == 0 || n_gen > cardinality::tracker_config::k_max_generations)
        return make_error("bad generation count " + std::to_string(n_gen));
    d.latest_counts.resize(n_gen);
    for (auto& c : d.latest_counts)
        if (!r.get(c)) return make_error("truncated generation counts");
    std::uint32_t n_slices = 0;
    if (!r.get(n_slices)) return make_error("truncated slice count");
    if (n_slices > cardinality::scalable_bloom::k_max_slices)
        return make_error("bad slice count " + std::to_string(n_slices));
    d.slices.resize(n_slices);
    for (auto& s : d.slices) {
        std::uint64_t n_chunks = 0, n_words = 0;
        if (!r.get(s.geometry.capacity) || !r.get(s.geometry.n_blocks) ||
            !r.get(s.geometry.fp_rate) || !r.get(s.items) || !r.get(n_chunks))
            return make_error("truncated slice header");
        // Sizes are checked against what is left before anything is allocated (a chunk index
        // takes at least one byte).
        if (n_chunks > r.left())
            return make_error("slice claims " + std::to_string(n_chunks) + " chunks, " +
                              std::to_string(r.left()) + " bytes left");
        s.chunks.resize(n_chunks);
        std::uint64_t prev = 0;
        for (std::size_t i = 0; i < s.chunks.size(); ++i) {
            std::uint64_t delta = 0;
            for (unsigned shift = 0;; shift += 7) {
                std::uint8_t byte = 0;
                if (shift > 63 || !r.get(byte)) return make_error("truncated or bad chunk index");
                delta |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
                if ((byte & 0x80) == 0) break;
            }
            if (i > 0 && delta == 0) return make_error("chunk indexes not ascending");
            if (delta > UINT64_MAX - prev) return make_error("chunk index overflows");
            prev += delta;
            s.chunks[i] = prev;
        }
        if (!r.get(n_words) || n_words > r.left() / sizeof(std::uint64_t))
            return make_error("truncated slice words");
        s.words.resize(n_words);
        std::string_view raw;
        (void)r.bytes(n_words * sizeof(std::uint64_t), raw);
        if (!raw.empty()) std::memcpy(s.words.data(), raw.data(), raw.size());
    }
    if (r.left() != 0)
        return make_error(std::to_string(r.left()) + " unexpected bytes after the increment");
    return out;
}

result<decoded_increment> decode_increment_file(std::string_view bytes,
                                                std::string_view expected_key,
                                                std::uint64_t max_inflated) {
    const bool gzip = has_gzip_magic(bytes);
    if (!gzip) return decode_increment(bytes, expected_key);
    auto inflated = gzip_decompress(bytes, max_inflated);
    if (!inflated) return make_error(inflated.error_message());
    return decode_increment(*inflated, expected_key);
}

}  // namespace mg::persistence
