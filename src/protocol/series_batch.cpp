#include "protocol/series_batch.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace mg::protocol {

std::string_view string_arena::store(std::string_view s) {
    if (s.empty()) return {};
    while (chunk_ < chunks_.size() && chunks_[chunk_].size - used_ < s.size()) {
        ++chunk_;
        used_ = 0;
    }
    if (chunk_ == chunks_.size()) {
        const std::size_t n = std::max(k_chunk, s.size());
        chunks_.push_back(chunk{std::make_unique<char[]>(n), n});
        used_ = 0;
    }
    char* p = chunks_[chunk_].data.get() + used_;
    std::memcpy(p, s.data(), s.size());
    used_ += s.size();
    return {p, s.size()};
}

void series_batch::clear() {
    entries_.clear();
    labels_.clear();
    symbols_.clear();
    arena_.clear();
    body_ = {};
    json_doc_ = nullptr;
    total_samples_ = total_histograms_ = total_exemplars_ = 0;
    protocol_ = source_protocol::none;
    any_unsorted_ = false;
}

bool valid_utf8(std::string_view s) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const auto* end = p + s.size();
    for (;;) {
        while (end - p >= 8) {
            std::uint64_t w;
            std::memcpy(&w, p, 8);
            if ((w & 0x8080808080808080ULL) != 0) break;
            p += 8;
        }
        while (p != end && *p < 0x80) ++p;
        if (p == end) return true;
        const unsigned c = *p;
        if (c < 0xC2) return false;  // continuation byte or overlong 2-byte lead
        if (c < 0xE0) {
            if (end - p < 2 || (p[1] & 0xC0) != 0x80) return false;
            p += 2;
        } else if (c < 0xF0) {
            if (end - p < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return false;
            if (c == 0xE0 && p[1] < 0xA0) return false;   // overlong
            if (c == 0xED && p[1] >= 0xA0) return false;  // surrogates
            p += 3;
        } else if (c < 0xF5) {
            if (end - p < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 ||
                (p[3] & 0xC0) != 0x80) {
                return false;
            }
            if (c == 0xF0 && p[1] < 0x90) return false;   // overlong
            if (c == 0xF4 && p[1] >= 0x90) return false;  // past U+10FFFF
            p += 4;
        } else {
            return false;
        }
    }
}

bool normalize_labels(std::span<label_view> labels, bool sorted, std::string_view& duplicate) {
    if (!sorted) {
        std::sort(labels.begin(), labels.end(),
                  [](const label_view& a, const label_view& b) { return a.name < b.name; });
    }
    for (std::size_t i = 1; i < labels.size(); ++i) {
        if (labels[i].name == labels[i - 1].name) {
            duplicate = labels[i].name;
            return false;
        }
    }
    return true;
}

bool strip_mask_removes(std::span<const label_view> labels, std::uint64_t mask,
                        std::string_view name) {
    if (mask == 0) return false;
    const auto it =
        std::lower_bound(labels.begin(), labels.end(), name,
                         [](const label_view& l, std::string_view n) { return l.name < n; });
    if (it == labels.end() || it->name != name) return false;
    const auto j = static_cast<std::size_t>(it - labels.begin());
    return j < 64 && ((mask >> j) & 1U) != 0;
}

decode_status check_strip_mask(const series_batch& batch, std::size_t i, std::uint64_t mask) {
    const std::size_t n = batch.entry(i).label_count;
    if (n >= 64 || (mask >> n) == 0) return decode_status::success();
    return decode_status::malformed("strip mask of series " + std::to_string(i) +
                                    " selects label " +
                                    std::to_string(63 - std::countl_zero(mask)) + " but it has " +
                                    std::to_string(n) + " labels");
}

decode_status check_strip_masks(const series_batch& batch, std::span<const std::uint8_t> keep,
                                std::span<const std::uint64_t> strip_masks, bool& any) {
    any = false;
    if (strip_masks.empty()) return decode_status::success();
    if (strip_masks.size() != batch.size() || keep.size() != batch.size()) {
        return decode_status::malformed("strip masks: " + std::to_string(strip_masks.size()) +
                                        " masks and " + std::to_string(keep.size()) +
                                        " keep entries for " + std::to_string(batch.size()) +
                                        " series");
    }
    for (std::size_t i = 0; i < keep.size(); ++i) {
        if (keep[i] == 0 || strip_masks[i] == 0) continue;
        if (auto s = check_strip_mask(batch, i, strip_masks[i]); !s) return s;
        any = true;
    }
    return decode_status::success();
}

}  // namespace mg::protocol
