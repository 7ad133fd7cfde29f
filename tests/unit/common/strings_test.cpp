// The shared text helpers (src/common/strings.h): trimming, case, and base64 against RFC 4648's
// test vectors, including the lenient decoding the OTLP/JSON mapping needs.
#include "common/strings.h"

#include <catch2/catch.hpp>
#include <string>

TEST_CASE("trim removes the given characters at both ends only", "[strings]") {
    CHECK(mg::trim("  a b \t\r\n") == "a b");
    CHECK(mg::trim("\v\fx\f\v") == "x");
    CHECK(mg::trim("") == "");
    CHECK(mg::trim(" \t\n ") == "");
    CHECK(mg::trim("x") == "x");
    // HTTP's optional white space is space and tab only: a line break stays (and is refused later).
    CHECK(mg::trim(" \tv\r\n", mg::k_http_whitespace) == "v\r\n");
    CHECK(mg::trim("  v  ", " ") == "v");
    CHECK(mg::trim("\tv", " ") == "\tv");
}

TEST_CASE("lower and iequals are ASCII only", "[strings]") {
    CHECK(mg::lower("Application/X-Protobuf") == "application/x-protobuf");
    CHECK(mg::lower("") == "");
    CHECK(mg::lower("\xC3\x89t\xC3\xA9") == "\xC3\x89t\xC3\xA9");  // bytes past ASCII unchanged
    CHECK(mg::iequals("Basic", "bASIC"));
    CHECK(mg::iequals("", ""));
    CHECK_FALSE(mg::iequals("Basic", "Basics"));
    CHECK_FALSE(mg::iequals("true", "tru3"));
    CHECK_FALSE(mg::iequals("\xC3\x89", "\xC3\xA9"));
}

TEST_CASE("base64 encodes with the standard alphabet and padding (RFC 4648)", "[strings][base64]") {
    CHECK(mg::base64_encode("") == "");
    CHECK(mg::base64_encode("f") == "Zg==");
    CHECK(mg::base64_encode("fo") == "Zm8=");
    CHECK(mg::base64_encode("foo") == "Zm9v");
    CHECK(mg::base64_encode("foob") == "Zm9vYg==");
    CHECK(mg::base64_encode("fooba") == "Zm9vYmE=");
    CHECK(mg::base64_encode("foobar") == "Zm9vYmFy");
    CHECK(mg::base64_encode("Aladdin:open sesame") ==
          "QWxhZGRpbjpvcGVuIHNlc2FtZQ==");  // basic auth
    CHECK(mg::base64_encode(std::string("\xFB\xFF\x00", 3)) == "+/8A");
    std::string out = "prefix:";
    mg::base64_append("fo", out);
    CHECK(out == "prefix:Zm8=");
}

TEST_CASE("base64 decodes either alphabet, padding optional, and refuses the rest",
          "[strings][base64]") {
    const auto decoded = [](std::string_view in) {
        std::string out;
        return mg::base64_decode(in, out) ? out : std::string("<refused>");
    };
    for (const std::string plain : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
        INFO(plain);
        CHECK(decoded(mg::base64_encode(plain)) == plain);
    }
    CHECK(decoded("Zm8") == "fo");                             // padding optional
    CHECK(decoded("+/8A") == std::string("\xFB\xFF\x00", 3));  // standard alphabet
    CHECK(decoded("-_8A") == std::string("\xFB\xFF\x00", 3));  // URL-safe alphabet
    CHECK(decoded("Zm9v!") == "<refused>");                    // not a base64 digit
    CHECK(decoded("Zm=v") == "<refused>");                     // padding inside
    CHECK(decoded("Zm9vY") == "<refused>");                    // a length no encoding has
    std::string out = "kept";
    CHECK(mg::base64_decode("Zm8=", out));
    CHECK(out == "keptfo");
}
