// state_render: a state_report (state_inspect.h) as the text and JSON that `metrics-governor
// state inspect` and `state verify` print. Pure functions; the JSON document is the same for
// both commands (docs/persistence.md, "Looking at a state directory", has its fields).
#pragma once

#include <string>

#include "persistence/state_inspect.h"

namespace mg::persistence {

// inspect's text: per tracker its key, counts, times, generations, base and increments; then the
// orphans, unreadable/, totals, problems and warnings.
std::string render_inspect_text(const state_report& r);
// verify's text: one line per problem ("problem: ...") and warning ("warning: ..."), then a
// summary line.
std::string render_verify_text(const state_report& r);
// The whole report as one JSON object, "ok" true when there is no problem.
std::string render_json(const state_report& r);

}  // namespace mg::persistence
