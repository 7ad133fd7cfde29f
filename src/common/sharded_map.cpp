#include "common/sharded_map.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace mg {

std::size_t string_key_hash(std::string_view s) noexcept {
    return static_cast<std::size_t>(XXH3_64bits(s.data(), s.size()));
}

}  // namespace mg
