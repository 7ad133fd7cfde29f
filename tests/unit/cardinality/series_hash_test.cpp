#include "cardinality/series_hash.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

using mg::cardinality::label_view;
using mg::cardinality::series_hash;

TEST_CASE("series hash does not depend on label order", "[series_hash]") {
    std::vector<label_view> labels{{"job", "api"},
                                   {"instance", "10.0.0.1:9100"},
                                   {"code", "200"},
                                   {"method", "GET"},
                                   {"le", "0.5"}};
    const auto h = series_hash("http_requests_total", labels);
    std::mt19937 rng(7);
    for (int i = 0; i < 50; ++i) {
        std::shuffle(labels.begin(), labels.end(), rng);
        CHECK(series_hash("http_requests_total", labels) == h);
    }
}

TEST_CASE("series hash is unambiguous across name/value boundaries", "[series_hash]") {
    const label_view a[] = {{"a", "bc"}};
    const label_view b[] = {{"ab", "c"}};
    CHECK(series_hash("m", a) != series_hash("m", b));

    const label_view c[] = {{"a", "b"}, {"c", "d"}};
    const label_view d[] = {{"a",
                             "b\x01\x00\x00\x00"
                             "c"}};  // would collide with naive joins
    CHECK(series_hash("m", c) != series_hash("m", std::span<const label_view>(d, 1)));

    const label_view e[] = {{"x", ""}};
    CHECK(series_hash("m", e) != series_hash("m", {}));
    CHECK(series_hash("mx", {}) != series_hash("m", e));
    CHECK(series_hash("", {}) != series_hash("m", {}));
}

TEST_CASE("series hash separates values and metric names", "[series_hash]") {
    std::unordered_set<std::uint64_t> seen;
    for (int m = 0; m < 10; ++m) {
        for (int v = 0; v < 1000; ++v) {
            const std::string value = std::to_string(v);
            const label_view l[] = {{"id", value}, {"job", "x"}};
            seen.insert(series_hash("metric_" + std::to_string(m), l));
        }
    }
    CHECK(seen.size() == 10000);
}

TEST_CASE("series hash handles duplicate names, many labels and long values", "[series_hash]") {
    std::vector<label_view> dup{{"a", "2"}, {"a", "1"}};
    const auto h = series_hash("m", dup);
    std::swap(dup[0], dup[1]);
    CHECK(series_hash("m", dup) == h);

    // > k_inline_labels labels and > k_inline_bytes of encoding take the fallback paths; the
    // result must still not depend on order.
    std::vector<std::string> names, values;
    for (int i = 0; i < 100; ++i) {
        names.push_back("label_" + std::to_string(i));
        values.push_back(std::string(40, static_cast<char>('a' + i % 26)));
    }
    std::vector<label_view> many;
    for (int i = 0; i < 100; ++i) many.push_back({names[i], values[i]});
    const auto big = series_hash("m", many);
    std::reverse(many.begin(), many.end());
    CHECK(series_hash("m", many) == big);
    many.pop_back();
    CHECK(series_hash("m", many) != big);

    // A sorted input that is too long for the inline buffer streams the same bytes.
    std::vector<label_view> few(many.begin(), many.begin() + 3);
    std::sort(few.begin(), few.end(), [](auto& x, auto& y) { return x.name < y.name; });
    const std::string longv(5000, 'z');
    few.push_back({"zzz", longv});
    const auto streamed = series_hash("m", few);
    std::reverse(few.begin(), few.end());
    CHECK(series_hash("m", few) == streamed);
}

TEST_CASE("series_hash_sorted equals series_hash on sorted labels of every length",
          "[series_hash]") {
    std::vector<std::string> storage;
    for (int i = 0; i < 40; ++i)
        storage.push_back(
            std::string(static_cast<std::size_t>(i), static_cast<char>('a' + i % 26)));
    for (std::size_t n = 0; n <= 20; ++n) {
        std::vector<mg::cardinality::label_view> labels;
        for (std::size_t i = 0; i < n; ++i) {
            // Names of rising length keep the set sorted; values cover lengths 0..39.
            labels.push_back({storage[i + 1], storage[(i * 7) % 40]});
        }
        INFO(n);
        CHECK(mg::cardinality::series_hash_sorted("metric", labels) ==
              mg::cardinality::series_hash("metric", labels));
        // Changing one byte anywhere changes the hash (every length path copies every byte).
        for (std::size_t i = 0; i < n; ++i) {
            if (labels[i].value.empty()) continue;
            std::string changed(labels[i].value);
            changed[changed.size() / 2] ^= 1;
            auto copy = labels;
            copy[i].value = changed;
            CHECK(mg::cardinality::series_hash_sorted("metric", copy) !=
                  mg::cardinality::series_hash_sorted("metric", labels));
        }
    }
}

TEST_CASE("series identity is the protobuf Label encoding, __name__ first", "[series_hash]") {
    using mg::cardinality::series_hash_canonical;
    using mg::cardinality::series_hash_sorted;
    // Label{__name__, up} then Label{job, a}: what a remote-write 1.0 TimeSeries carries.
    const std::string wire =
        std::string("\x0a\x0e\x0a\x08__name__\x12\x02up", 16) + std::string(
                                                                    "\x0a\x08\x0a\x03job\x12\x01"
                                                                    "a",
                                                                    10);
    const std::vector<label_view> labels{{"job", "a"}};
    CHECK(series_hash_sorted("up", labels) == series_hash_canonical(wire.data(), wire.size()));
    CHECK(series_hash("up", labels) == series_hash_canonical(wire.data(), wire.size()));

    // Lengths of 128 and more take two-byte varints; an empty value is still written.
    const std::string v300(300, 'v');
    const std::vector<label_view> long_labels{{"e", ""}, {"k", v300}};
    std::string w2 = std::string("\x0a\x0e\x0a\x08__name__\x12\x02up", 16);
    w2 += std::string(
        "\x0a\x05\x0a\x01"
        "e\x12\x00",
        7);
    w2 += std::string("\x0a\xb2\x02\x0a\x01k\x12\xac\x02", 9) + v300;  // 306 = 0xb2 0x02
    CHECK(series_hash_sorted("up", long_labels) == series_hash_canonical(w2.data(), w2.size()));
    // The streaming path (over the inline buffer) hashes the same bytes.
    const std::string v3000(3000, 'w');
    const std::vector<label_view> huge{{"k", v3000}};
    std::string w3 = std::string("\x0a\x0e\x0a\x08__name__\x12\x02up", 16);
    w3 += std::string("\x0a\xbe\x17\x0a\x01k\x12\xb8\x17", 9) + v3000;  // 3006 = 0xbe 0x17
    CHECK(series_hash_sorted("up", huge) == series_hash_canonical(w3.data(), w3.size()));
}
