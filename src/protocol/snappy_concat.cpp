// Joining snappy blocks by their element streams (see snappy_concat.h).
#include "protocol/snappy_concat.h"

#include <cstdint>
#include <limits>

namespace mg::protocol {

bool snappy_block_header(bytes_view block, std::size_t& uncompressed, std::size_t& header_size) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < block.size() && i < 5; ++i) {
        const auto b = static_cast<std::uint8_t>(block[i]);
        v |= static_cast<std::uint64_t>(b & 0x7f) << (7 * i);
        if ((b & 0x80) == 0) {
            if (v > std::numeric_limits<std::uint32_t>::max()) return false;
            uncompressed = static_cast<std::size_t>(v);
            header_size = i + 1;
            return true;
        }
    }
    return false;
}

decode_status snappy_concat(std::span<const bytes_view> blocks, std::string& out) {
    std::uint64_t total = 0;
    std::size_t bytes = 0;
    for (const auto b : blocks) {
        std::size_t n = 0;
        std::size_t header = 0;
        if (!snappy_block_header(b, n, header))
            return decode_status::malformed("snappy: invalid block header");
        total += n;
        bytes += b.size() - header;
    }
    if (total > std::numeric_limits<std::uint32_t>::max())
        return decode_status::too_large("snappy: the joined blocks pass 4 GiB");
    out.clear();
    out.reserve(bytes + 5);
    for (auto v = total;; v >>= 7) {
        if (v < 0x80) {
            out.push_back(static_cast<char>(v));
            break;
        }
        out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    }
    for (const auto b : blocks) {
        std::size_t n = 0;
        std::size_t header = 0;
        snappy_block_header(b, n, header);
        out.append(b.data() + header, b.size() - header);
    }
    return decode_status::success();
}

}  // namespace mg::protocol
