// governor_host: the tracker_host over the governor's trackers (the ones that enforce limits), with
// the key scheme described in tracker_host.h. Holds a reference; the governor must outlive it.
// Thread-safety: as tracker_host.
#pragma once

#include <string>
#include <string_view>

#include "limits/governor.h"
#include "persistence/tracker_host.h"

namespace mg::persistence {

// `tenant` "" is the default tenant, whose keys are those of a governor without tenants.
std::string metric_key(std::string_view metric, std::string_view tenant = {});
std::string label_key(std::string_view metric, std::string_view label,
                      std::string_view tenant = {});

class governor_host final : public tracker_host {
  public:
    explicit governor_host(limits::governor& g) : governor_(g) {}
    void for_each(const visitor& fn) const override;
    status adopt(const std::string& key,
                 std::shared_ptr<cardinality::bloom_tracker> tracker) override;
    std::vector<std::string> evict(const std::string& key) override;
    std::uint64_t memory_bytes() const override { return governor_.memory_bytes(); }

  private:
    limits::governor& governor_;
};

}  // namespace mg::persistence
