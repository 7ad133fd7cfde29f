// bounded_regex: Boost.Regex with a bound on the work of one match. Boost's backtracking matcher
// gives up (throws std::runtime_error) after BOOST_REGEX_MAX_STATE_COUNT states, 1e8 by default:
// seconds of backtracking for a pattern with nested repetition such as `(a+)+x` against a long
// name. 1e6 is ~10 ms here and still far above what a sane pattern needs for a metric name
// (about (pattern states)^2 x (name length), i.e. 100k for 30 states and 100 characters).
// Include this header, never <boost/regex.hpp> directly, so every instantiation has one bound.
//
// The GCC system_header pragma keeps Boost's own old-style casts around the bound, which expand
// here, out of the project's -Werror warnings, as they are for Boost's other headers.
#pragma once
#pragma GCC system_header

#define BOOST_REGEX_MAX_STATE_COUNT 1000000
#include <boost/regex.hpp>
