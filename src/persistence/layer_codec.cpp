// Splitting a tracker snapshot into a head and frozen generations, and joining them (see
// layer_codec.h).
#include "persistence/layer_codec.h"

#include <string>
#include <utility>

#include "persistence/tracker_codec.h"
#include "persistence/tracker_store.h"

namespace mg::persistence {

layer_split split_layers(cardinality::tracker_snapshot snap) {
    layer_split out;
    for (std::size_t g = 1; g < snap.generations.size(); ++g) {
        cardinality::tracker_snapshot one;
        one.format = snap.format;
        one.config = snap.config;
        one.taken_at = snap.taken_at;
        one.epoch = snap.epoch;
        auto& gen = one.generations.emplace_back();
        gen.age = snap.generations[g].age;
        gen.latest_count = snap.generations[g].latest_count;
        gen.slices = std::move(snap.generations[g].slices);
        snap.generations[g].slices.clear();
        out.frozen.push_back(std::move(one));
    }
    out.head = std::move(snap);
    return out;
}

bool generation_empty(const cardinality::tracker_snapshot& snap, std::size_t g) {
    return g >= snap.generations.size() || snap.generations[g].slices.empty();
}

status attach_frozen(cardinality::tracker_snapshot& head, std::size_t g,
                     cardinality::tracker_snapshot frozen) {
    if (g == 0 || g >= head.generations.size())
        return make_error("generation " + std::to_string(g) + " is not a frozen generation of " +
                          std::to_string(head.generations.size()));
    if (frozen.generations.size() != 1)
        return make_error("a frozen generation file holds " +
                          std::to_string(frozen.generations.size()) + " generations, not 1");
    const auto& a = head.config;
    const auto& b = frozen.config;
    if (a.expected_items != b.expected_items || a.fp_rate != b.fp_rate ||
        a.generations != b.generations || a.window != b.window || head.format != frozen.format)
        return make_error("frozen generation " + std::to_string(g) +
                          " was written with another tracker config");
    if (!head.generations[g].slices.empty())
        return make_error("the head holds words for generation " + std::to_string(g) + " already");
    head.generations[g].slices = std::move(frozen.generations[0].slices);
    return {};
}

bool layers_need_base(const tracker_meta& m) {
    return !m.layered() && m.layers && m.previous_checksum &&
           m.layers->base_checksum == *m.previous_checksum;
}

bool use_layers(const tracker_meta& m, std::optional<std::uint32_t> found_base_crc) {
    if (m.layered()) return true;
    return layers_need_base(m) && found_base_crc && *found_base_crc == m.layers->base_checksum;
}

result<loaded_layers> load_layers(const tracker_meta& m, const layer_reader& read,
                                  std::uint64_t max_inflated) {
    if (!m.layers) return make_error("no generation files listed");
    const auto& layers = *m.layers;
    auto file_error = [&](const layer_file& f, bool head, const std::string& why) {
        return make_error(tracker_store::layer_file_name(m.hash, f, head) + ": " + why);
    };
    auto bytes = read(layers.head, true);
    if (!bytes) return file_error(layers.head, true, bytes.error_message());
    auto head = decode_tracker_file(*bytes, m.key, max_inflated);
    if (!head) return file_error(layers.head, true, head.error_message());
    if (layers.frozen.size() + 1 != head->generations.size())
        return file_error(layers.head, true,
                          "holds " + std::to_string(head->generations.size()) +
                              " generations, the index lists " +
                              std::to_string(layers.frozen.size() + 1));
    loaded_layers out;
    out.files = 1;
    for (std::size_t g = 1; g < head->generations.size(); ++g) {
        const auto& f = layers.frozen[g - 1];
        if (f.id == 0) {
            // An empty generation has no file, and the head holds no words for it either.
            if (!generation_empty(*head, g))
                return file_error(layers.head, true,
                                  "holds words for frozen generation " + std::to_string(g));
            continue;
        }
        auto fb = read(f, false);
        if (!fb) return file_error(f, false, fb.error_message());
        auto frozen = decode_tracker_file(*fb, m.key, max_inflated);
        if (!frozen) return file_error(f, false, frozen.error_message());
        if (auto st = attach_frozen(*head, g, std::move(*frozen)); !st)
            return file_error(f, false, st.error_message());
        ++out.files;
    }
    out.snapshot = std::move(*head);
    return out;
}

}  // namespace mg::persistence
