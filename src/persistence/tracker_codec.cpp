// Tracker file encoding, gzip via zlib, CRC32 via zlib and SHA-256 via OpenSSL (see
// tracker_codec.h).
#include "persistence/tracker_codec.h"

#include <openssl/evp.h>
#include <zlib.h>

#include <array>
#include <bit>
#include <cstring>
#include <limits>

#include "persistence/byte_io.h"

namespace mg::persistence {
namespace {

using detail::reader;
using detail::writer;

constexpr std::string_view k_magic = "MGBT";

}  // namespace

std::string encode_tracker(std::string_view key, const cardinality::tracker_snapshot& snap) {
    std::size_t words = 0;
    for (const auto& g : snap.generations)
        for (const auto& s : g.slices) words += s.words.size();
    std::string out;
    out.reserve(64 + key.size() + snap.generations.size() * 32 + words * 8);
    writer w(out);
    w.bytes(k_magic);
    w.put<std::uint32_t>(k_file_format);
    w.put<std::uint32_t>(snap.format);
    w.put<std::uint32_t>(static_cast<std::uint32_t>(key.size()));
    w.bytes(key);
    w.put<std::uint64_t>(snap.config.expected_items);
    w.put<double>(snap.config.fp_rate);
    w.put<std::uint32_t>(snap.config.generations);
    w.put<std::int64_t>(snap.config.window.count());
    w.put<std::int64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(snap.taken_at.time_since_epoch())
            .count());
    w.put<std::uint32_t>(static_cast<std::uint32_t>(snap.generations.size()));
    for (const auto& g : snap.generations) {
        w.put<std::int64_t>(g.age.count());
        w.put<std::int64_t>(g.latest_count);
        w.put<std::uint32_t>(static_cast<std::uint32_t>(g.slices.size()));
        for (const auto& s : g.slices) {
            w.put<std::uint64_t>(s.geometry.capacity);
            w.put<std::uint64_t>(s.geometry.n_blocks);
            w.put<double>(s.geometry.fp_rate);
            w.put<std::uint64_t>(s.items);
            w.bytes(std::string_view(reinterpret_cast<const char*>(s.words.data()),
                                     s.words.size() * 8));
        }
    }
    return out;
}

namespace {

// expected_key null: any key, returned through key_out (rebuilding a lost index).
result<cardinality::tracker_snapshot> decode_payload(std::string_view payload,
                                                     const std::string_view* expected_key,
                                                     std::string* key_out) {
    reader r(payload);
    std::string_view magic;
    if (!r.bytes(k_magic.size(), magic) || magic != k_magic)
        return make_error("not a tracker file (bad magic)");
    std::uint32_t file_format = 0, snap_format = 0, key_len = 0;
    if (!r.get(file_format)) return make_error("truncated header");
    if (file_format != k_file_format)
        return make_error("unsupported tracker file format " + std::to_string(file_format) +
                          " (this build reads " + std::to_string(k_file_format) + ")");
    if (!r.get(snap_format) || !r.get(key_len)) return make_error("truncated header");
    if (snap_format == 1)
        return make_error(
            "tracker snapshot format 1 holds series identities of an older version (this build "
            "reads " +
            std::to_string(cardinality::tracker_snapshot::k_format) +
            "); the tracker starts empty and relearns its series");
    if (snap_format != cardinality::tracker_snapshot::k_format)
        return make_error("unsupported tracker snapshot format " + std::to_string(snap_format) +
                          " (this build reads " +
                          std::to_string(cardinality::tracker_snapshot::k_format) + ")");
    std::string_view key;
    if (!r.bytes(key_len, key)) return make_error("truncated key");
    if (expected_key != nullptr && key != *expected_key)
        return make_error("file holds tracker \"" + std::string(key) + "\", not the expected one");
    if (key_out != nullptr) *key_out = std::string(key);

    cardinality::tracker_snapshot snap;
    snap.format = snap_format;
    std::int64_t window_ns = 0, taken_ns = 0;
    std::uint32_t n_gen = 0;
    if (!r.get(snap.config.expected_items) || !r.get(snap.config.fp_rate) ||
        !r.get(snap.config.generations) || !r.get(window_ns) || !r.get(taken_ns) || !r.get(n_gen))
        return make_error("truncated tracker config");
    snap.config.window = std::chrono::nanoseconds(window_ns);
    snap.taken_at = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::nanoseconds(taken_ns)));
    if (n_gen == 0 || n_gen > cardinality::tracker_config::k_max_generations)
        return make_error("bad generation count " + std::to_string(n_gen));
    snap.generations.resize(n_gen);
    for (std::uint32_t gi = 0; gi < n_gen; ++gi) {
        auto& g = snap.generations[gi];
        std::int64_t age = 0;
        std::uint32_t n_slices = 0;
        if (!r.get(age) || !r.get(g.latest_count) || !r.get(n_slices))
            return make_error("truncated generation " + std::to_string(gi));
        g.age = std::chrono::nanoseconds(age);
        if (n_slices > cardinality::scalable_bloom::k_max_slices)
            return make_error("bad slice count " + std::to_string(n_slices) + " in generation " +
                              std::to_string(gi));
        g.slices.resize(n_slices);
        for (std::uint32_t si = 0; si < n_slices; ++si) {
            auto& s = g.slices[si];
            if (!r.get(s.geometry.capacity) || !r.get(s.geometry.n_blocks) ||
                !r.get(s.geometry.fp_rate) || !r.get(s.items))
                return make_error("truncated slice " + std::to_string(si) + " of generation " +
                                  std::to_string(gi));
            // Checked against what is left before allocating: a corrupt count cannot ask for more
            // memory than the file holds.
            if (s.geometry.n_blocks > r.left() / 64)
                return make_error("slice " + std::to_string(si) + " of generation " +
                                  std::to_string(gi) + " claims more blocks than the file holds");
            s.words.resize(s.geometry.n_blocks * 8);
            std::string_view raw;
            r.bytes(s.words.size() * 8, raw);
            // An empty slice has no buffer: memcpy with a null pointer is undefined even for 0
            // bytes.
            if (!raw.empty()) std::memcpy(s.words.data(), raw.data(), raw.size());
        }
    }
    if (r.left() != 0)
        return make_error(std::to_string(r.left()) + " unexpected bytes after the last generation");
    return snap;
}

}  // namespace

result<std::string> gzip_compress(std::string_view data, int level) {
    z_stream zs{};
    // 15 + 16: a gzip wrapper (header and CRC trailer) rather than raw zlib.
    if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return make_error("gzip: cannot initialise level " + std::to_string(level));
    std::string out(deflateBound(&zs, static_cast<uLong>(data.size())) + 32, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    zs.avail_in = static_cast<uInt>(data.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    const int rc = deflate(&zs, Z_FINISH);
    const auto produced = zs.total_out;
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) return make_error("gzip: compression failed");
    out.resize(produced);
    return out;
}

result<cardinality::tracker_snapshot> decode_tracker(std::string_view payload,
                                                     std::string_view expected_key) {
    return decode_payload(payload, &expected_key, nullptr);
}

result<keyed_snapshot> decode_tracker_file_any_key(std::string_view bytes,
                                                   std::uint64_t max_inflated) {
    const bool gzip = has_gzip_magic(bytes);
    std::string inflated_bytes;
    if (gzip) {
        auto inflated = gzip_decompress(bytes, max_inflated);
        if (!inflated) return make_error(inflated.error_message());
        inflated_bytes = std::move(*inflated);
        bytes = inflated_bytes;
    }
    keyed_snapshot out;
    auto snap = decode_payload(bytes, nullptr, &out.key);
    if (!snap) return make_error(snap.error_message());
    out.snapshot = std::move(*snap);
    return out;
}

result<cardinality::tracker_snapshot> decode_tracker_file(std::string_view bytes,
                                                          std::string_view expected_key,
                                                          std::uint64_t max_inflated) {
    const bool gzip = has_gzip_magic(bytes);
    if (!gzip) return decode_tracker(bytes, expected_key);
    auto inflated = gzip_decompress(bytes, max_inflated);
    if (!inflated) return make_error(inflated.error_message());
    return decode_tracker(*inflated, expected_key);
}

bool has_gzip_magic(std::string_view bytes) {
    return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
           static_cast<unsigned char>(bytes[1]) == 0x8b;
}

result<std::string> gzip_decompress(std::string_view data, std::uint64_t max_bytes) {
    z_stream zs{};
    if (inflateInit2(&zs, 15 + 16) != Z_OK) return make_error("gzip: cannot initialise");
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    zs.avail_in = static_cast<uInt>(data.size());
    std::string out;
    std::array<char, 64 * 1024> buf{};
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
        zs.next_out = reinterpret_cast<Bytef*>(buf.data());
        zs.avail_out = static_cast<uInt>(buf.size());
        rc = inflate(&zs, Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END) {
            inflateEnd(&zs);
            return make_error(rc == Z_BUF_ERROR ? "gzip: truncated stream"
                                                : "gzip: corrupt stream");
        }
        const std::size_t n = buf.size() - zs.avail_out;
        if (out.size() + n > max_bytes) {
            inflateEnd(&zs);
            return make_error("gzip: inflates past " + std::to_string(max_bytes) + " bytes");
        }
        out.append(buf.data(), n);
        if (rc == Z_OK && n == 0 && zs.avail_in == 0) {
            inflateEnd(&zs);
            return make_error("gzip: truncated stream");
        }
    }
    const bool trailing = zs.avail_in != 0;
    inflateEnd(&zs);
    if (trailing) return make_error("gzip: unexpected bytes after the stream");
    return out;
}

std::uint32_t crc32_of(std::string_view data) {
    uLong crc = crc32(0L, Z_NULL, 0);
    // zlib takes uInt lengths: feed large inputs in pieces.
    while (!data.empty()) {
        const auto n =
            static_cast<uInt>(std::min<std::size_t>(data.size(), std::numeric_limits<uInt>::max()));
        crc = crc32(crc, reinterpret_cast<const Bytef*>(data.data()), n);
        data.remove_prefix(n);
    }
    return static_cast<std::uint32_t>(crc);
}

std::string sha256_hex(std::string_view key) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(key.data(), key.size(), md, &len, EVP_sha256(), nullptr);
    static constexpr char k_hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(len * 2);
    for (unsigned int i = 0; i < len; ++i) {
        out.push_back(k_hex[md[i] >> 4]);
        out.push_back(k_hex[md[i] & 15]);
    }
    return out;
}

}  // namespace mg::persistence
