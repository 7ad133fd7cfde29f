#include "protocol/compression.h"

#include <snappy.h>
#include <zlib.h>

#include <algorithm>
#include <limits>

namespace mg::protocol {

decode_status snappy_decode(bytes_view in, std::size_t max_size, std::string& out) {
    std::size_t declared = 0;
    if (!snappy::GetUncompressedLength(in.data(), in.size(), &declared)) {
        return decode_status::malformed("snappy: invalid block header");
    }
    if (declared > max_size) {
        return decode_status::too_large("snappy: declared uncompressed size " +
                                        std::to_string(declared) + " exceeds the limit of " +
                                        std::to_string(max_size) + " bytes");
    }
    // A valid block expands at most ~22x (a 3-byte copy op emits up to 64 bytes); anything
    // declaring more than 64x its input is corrupt: do not allocate for it.
    if (declared / 64 > in.size()) {
        return decode_status::malformed("snappy: declared size is impossible for the input size");
    }
    out.resize(declared);
    if (!snappy::RawUncompress(in.data(), in.size(), out.data())) {
        return decode_status::malformed("snappy: corrupt block");
    }
    return decode_status::success();
}

void snappy_encode(bytes_view in, std::string& out) {
    // Compressed into a per-thread buffer that keeps its size, then copied out at its real size:
    // sizing `out` to the worst case every time would zero-fill (and, for a fresh multi-MiB
    // string, page-fault in) more than the compressor itself costs.
    thread_local std::string scratch;
    const std::size_t max = snappy::MaxCompressedLength(in.size());
    if (scratch.size() < max) scratch.resize(max);
    std::size_t n = 0;
    snappy::RawCompress(in.data(), in.size(), scratch.data(), &n);
    out.assign(scratch.data(), n);
    // A huge one-off request must not pin its buffer for the life of the thread.
    if (scratch.size() > (std::size_t{16} << 20)) std::string().swap(scratch);
}

std::size_t uncompressed_size_hint(bytes_view in) {
    std::size_t n = 0;
    const bool gzip = in.size() >= 2 && static_cast<unsigned char>(in[0]) == 0x1f &&
                      static_cast<unsigned char>(in[1]) == 0x8b;
    if (gzip) return in.size();
    if (!snappy::GetUncompressedLength(in.data(), in.size(), &n)) return 0;
    return std::min(n, in.size() * 64);  // never more than a valid block can expand to
}

namespace {

struct inflater {
    z_stream zs{};
    bool ready = false;
    inflater() { ready = inflateInit2(&zs, 16 + MAX_WBITS) == Z_OK; }
    ~inflater() {
        if (ready) inflateEnd(&zs);
    }
    inflater(const inflater&) = delete;
    inflater& operator=(const inflater&) = delete;
};

// std::string grows its capacity to at least twice the old one; near the bound that would
// allocate up to 2x max_size, so growth goes through a fresh string reserved to the exact size.
void grow_exact(std::string& out, std::size_t n) {
    if (n <= out.capacity()) {
        out.resize(n);
        return;
    }
    std::string t;
    t.reserve(n);
    t.assign(out);
    t.resize(n);
    out.swap(t);
}

std::string zmsg(const char* prefix, const z_stream& zs) {
    std::string m = prefix;
    if (zs.msg != nullptr) {
        m += ": ";
        m += zs.msg;
    }
    return m;
}

}  // namespace

decode_status gzip_decode(bytes_view in, std::size_t max_size, std::string& out) {
    out.clear();
    if (in.empty()) return decode_status::malformed("gzip: empty body");
    inflater z;
    if (!z.ready) return decode_status::malformed("gzip: cannot initialise zlib");
    // zlib counts avail_in/avail_out in uInt; feed it in pieces so huge inputs are fine.
    constexpr std::size_t k_step = std::numeric_limits<uInt>::max();
    const auto* next_in = reinterpret_cast<const Bytef*>(in.data());
    std::size_t left_in = in.size();
    // Start near a typical ratio, never above the bound: the bound is the allocation ceiling.
    grow_exact(out, std::min(max_size, std::max<std::size_t>(4096, in.size() * 4)));
    std::size_t produced = 0;
    for (;;) {
        if (produced == out.size()) {
            // At the bound, one spare byte tells "exactly max_size" apart from "more".
            grow_exact(out,
                       out.size() >= max_size ? max_size + 1 : std::min(max_size, out.size() * 2));
        }
        const std::size_t in_now = std::min(left_in, k_step);
        const std::size_t out_now = std::min(out.size() - produced, k_step);
        z.zs.next_in = const_cast<Bytef*>(next_in);  // zlib's API is not const-correct
        z.zs.avail_in = static_cast<uInt>(in_now);
        z.zs.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
        z.zs.avail_out = static_cast<uInt>(out_now);
        const int rc = inflate(&z.zs, Z_NO_FLUSH);
        const std::size_t used_in = in_now - z.zs.avail_in;
        next_in += used_in;
        left_in -= used_in;
        produced += out_now - z.zs.avail_out;
        if (produced > max_size) {
            return decode_status::too_large("gzip: decompressed body exceeds the limit of " +
                                            std::to_string(max_size) + " bytes");
        }
        if (rc == Z_STREAM_END) {
            if (left_in == 0) break;
            // Another gzip member follows.
            if (inflateReset(&z.zs) != Z_OK) return decode_status::malformed("gzip: reset failed");
            continue;
        }
        if (rc == Z_BUF_ERROR) {
            if (left_in == 0 && produced < out.size()) {
                return decode_status::malformed("gzip: truncated stream");
            }
            continue;  // needs more output space: grown at the top of the loop
        }
        if (rc != Z_OK) return decode_status::malformed(zmsg("gzip: corrupt stream", z.zs));
        if (left_in == 0 && z.zs.avail_out != 0) {
            return decode_status::malformed("gzip: truncated stream");
        }
    }
    out.resize(produced);
    return decode_status::success();
}

decode_status gzip_encode(bytes_view in, int level, std::string& out) {
    out.clear();
    if (level < -1 || level > 9) {
        return decode_status::malformed("gzip: level must be -1 or 0..9, got " +
                                        std::to_string(level));
    }
    z_stream zs{};
    if (deflateInit2(&zs, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        return decode_status::malformed("gzip: cannot initialise zlib");
    }
    constexpr std::size_t k_step = std::numeric_limits<uInt>::max();
    out.resize(deflateBound(&zs, static_cast<uLong>(std::min(in.size(), k_step))) + 64);
    const auto* next_in = reinterpret_cast<const Bytef*>(in.data());
    std::size_t left_in = in.size();
    std::size_t produced = 0;
    int rc = Z_OK;
    do {
        if (produced == out.size()) out.resize(out.size() * 2);
        const std::size_t in_now = std::min(left_in, k_step);
        const std::size_t out_now = std::min(out.size() - produced, k_step);
        zs.next_in = const_cast<Bytef*>(next_in);
        zs.avail_in = static_cast<uInt>(in_now);
        zs.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
        zs.avail_out = static_cast<uInt>(out_now);
        const bool last = left_in == in_now;
        rc = deflate(&zs, last ? Z_FINISH : Z_NO_FLUSH);
        const std::size_t used_in = in_now - zs.avail_in;
        next_in += used_in;
        left_in -= used_in;
        produced += out_now - zs.avail_out;
    } while (rc != Z_STREAM_END && (rc == Z_OK || rc == Z_BUF_ERROR));
    deflateEnd(&zs);
    out.resize(produced);
    if (rc != Z_STREAM_END) return decode_status::malformed("gzip: deflate failed");
    return decode_status::success();
}

}  // namespace mg::protocol
