#include "common/clock.h"

namespace mg {

clock& system_clock_instance() {
    static system_clock instance;
    return instance;
}

}  // namespace mg
