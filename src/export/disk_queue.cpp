// The export disk queue (see disk_queue.h): segment files, group commit, recovery. All file
// access goes through the injected mg::file_system.
#include "export/disk_queue.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <limits>

#include "logging/log.h"

namespace mg::exporter {

namespace {

constexpr char k_magic[4] = {'M', 'G', 'D', 'Q'};
// Version 2 added the tenant (meta bytes 10..11, formerly zero, give its length; its bytes come
// before the body). Version 1 segments, written before, are read as records without a tenant.
constexpr std::uint32_t k_version = 2;
constexpr std::uint32_t k_version_no_tenant = 1;
constexpr std::size_t k_max_tenant = 0xFFFF;
constexpr std::uint32_t k_meta_size = 24;
constexpr std::uint32_t k_max_record = std::uint32_t{1} << 31;

void put32(std::string& s, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put64(std::string& s, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
std::uint64_t get(const char* p, int n) {
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i) v |= std::uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
    return v;
}

std::uint32_t crc(const char* a, std::size_t an, const char* b, std::size_t bn) {
    uLong c = crc32(0L, Z_NULL, 0);
    c = crc32(c, reinterpret_cast<const Bytef*>(a), static_cast<uInt>(an));
    // Bodies are below 2 GiB (k_max_record), so one call covers them.
    c = crc32(c, reinterpret_cast<const Bytef*>(b), static_cast<uInt>(bn));
    return static_cast<std::uint32_t>(c);
}

std::string segment_name(std::uint64_t first_id) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "seg-%020llu.mgq", static_cast<unsigned long long>(first_id));
    return buf;
}

bool parse_segment_name(const std::string& name, std::uint64_t& id) {
    if (name.size() != 28 || name.rfind("seg-", 0) != 0 || name.substr(24) != ".mgq") return false;
    id = 0;
    for (std::size_t i = 4; i < 24; ++i) {
        if (name[i] < '0' || name[i] > '9') return false;
        id = id * 10 + static_cast<std::uint64_t>(name[i] - '0');
    }
    return true;
}

}  // namespace

disk_queue::disk_queue(std::string dir, std::uint64_t max_bytes, std::uint64_t segment_bytes,
                       mg::file_system& fs)
    : fs_(fs),
      dir_(std::move(dir)),
      max_bytes_(max_bytes),
      segment_bytes_(segment_bytes != 0
                         ? segment_bytes
                         : std::clamp<std::uint64_t>(max_bytes / 16, 1 << 20, 64 << 20)) {}

disk_queue::~disk_queue() = default;

result<std::unique_ptr<disk_queue>> disk_queue::open(const std::string& dir,
                                                     std::uint64_t max_bytes,
                                                     std::uint64_t segment_bytes,
                                                     mg::file_system& fs) {
    if (auto st = fs.create_dirs(dir, 0700); !st)
        return make_error("-queue-path " + dir + ": cannot create: " + st.error_message());
    std::unique_ptr<disk_queue> q(new disk_queue(dir, max_bytes, segment_bytes, fs));
    auto lock = fs.lock_file(dir + "/LOCK");
    if (!lock) return make_error("-queue-path " + dir + ": cannot lock: " + lock.error_message());
    q->lock_ = std::move(*lock);
    if (auto st = q->recover(); !st)
        return make_error("-queue-path " + dir + ": " + st.error_message());
    return q;
}

status disk_queue::recover() {
    auto entries = fs_.list_dir(dir_);
    if (!entries) return make_error("cannot list: " + entries.error_message());
    std::vector<std::pair<std::uint64_t, std::string>> files;
    for (const auto& e : *entries) {
        if (e.is_dir) continue;
        std::uint64_t id = 0;
        if (e.name.rfind("tmp-", 0) == 0) {
            // A rotation that did not finish: never held data.
            if (auto st = fs_.remove(dir_ + "/" + e.name); !st) {
                logging::warn("disk queue: cannot remove an unfinished segment",
                              {{"error", st.error_message()}});
            }
            continue;
        }
        if (parse_segment_name(e.name, id)) files.emplace_back(id, dir_ + "/" + e.name);
    }
    std::sort(files.begin(), files.end());

    for (const auto& [first_id, path] : files) {
        // Whole segments are read: replay holds every intact record in memory anyway, and a
        // segment is at most 64 MiB plus one record (< 2 GiB).
        auto read = fs_.read_file(path, std::numeric_limits<std::uint64_t>::max());
        if (!read) return make_error("cannot read: " + read.error_message());
        std::string& data = *read;
        const auto version = data.size() < k_header_size ? 0 : get(data.data() + 4, 4);
        if (data.size() < k_header_size || std::memcmp(data.data(), k_magic, 4) != 0 ||
            (version != k_version && version != k_version_no_tenant)) {
            ++corrupt_;
            const std::string bad = path + ".corrupt";
            logging::error("disk queue: segment without a valid header set aside",
                           {{"file", path}, {"renamed_to", bad}, {"bytes", data.size()}});
            if (auto st = fs_.rename(path, bad); !st) {
                logging::warn("disk queue: cannot rename a corrupt segment; it is skipped",
                              {{"error", st.error_message()}});
            }
            continue;
        }
        std::size_t off = k_header_size;
        std::uint64_t records = 0;
        std::uint64_t last_id = first_id;
        while (off < data.size()) {
            const char* p = data.data() + off;
            const std::size_t left = data.size() - off;
            bool ok = left >= 8;
            std::uint32_t len = 0;
            if (ok) {
                len = static_cast<std::uint32_t>(get(p, 4));
                ok = len >= k_meta_size && len < k_max_record && left - 8 >= len &&
                     static_cast<std::uint32_t>(get(p + 4, 4)) ==
                         crc(p + 8, k_meta_size, p + 8 + k_meta_size, len - k_meta_size);
            }
            const char* m = p + 8;
            const auto format = ok ? static_cast<std::uint8_t>(m[8]) : 0;
            if (ok && format > static_cast<std::uint8_t>(payload_format::otlp_json)) ok = false;
            const std::size_t tenant_len =
                ok && version == k_version ? static_cast<std::size_t>(get(m + 10, 2)) : 0;
            if (ok && tenant_len > len - k_meta_size) ok = false;
            if (!ok) {
                ++corrupt_;
                logging::error("disk queue: torn or corrupt record; the segment is cut off there",
                               {{"file", path}, {"offset", off}, {"bytes_dropped", left}});
                if (auto st = cut_off(path, off); !st) return st;
                data.resize(off);
                break;
            }
            payload r;
            r.disk_id = get(m, 8);
            r.format = static_cast<payload_format>(format);
            r.compressed = m[9] != 0;
            r.series = static_cast<std::uint32_t>(get(m + 12, 4));
            r.points = get(m + 16, 8);
            r.tenant.assign(m + k_meta_size, tenant_len);
            r.body.assign(m + k_meta_size + tenant_len, len - k_meta_size - tenant_len);
            last_id = std::max(last_id, r.disk_id);
            recovered_.push_back(std::move(r));
            ++records;
            off += 8 + len;
        }
        if (records == 0) {
            if (auto st = fs_.remove(path); !st) {
                logging::warn("disk queue: cannot remove an empty segment",
                              {{"error", st.error_message()}});
            }
            continue;
        }
        segments_[first_id] = segment{path, data.size(), records};
        bytes_ += data.size();
        next_id_ = std::max(next_id_, last_id + 1);
    }
    sync_dir();
    return {};
}

// Truncates a segment at its last good record and syncs that. Only a failed truncation is an
// error: an unsynced one at worst brings the torn bytes back after a crash, to be cut again.
status disk_queue::cut_off(const std::string& path, std::uint64_t size) {
    auto f = fs_.open_appendable(path);
    if (!f) return make_error("cannot truncate: " + f.error_message());
    if (auto st = (*f)->truncate(size); !st)
        return make_error("cannot truncate: " + st.error_message());
    if (auto st = (*f)->sync(); !st) {
        logging::warn("disk queue: cannot sync a truncated segment",
                      {{"error", st.error_message()}});
    }
    (void)(*f)->close();  // nothing was written through it after the sync
    return {};
}

std::vector<payload> disk_queue::take_recovered() {
    std::lock_guard lock(mu_);
    return std::move(recovered_);
}

// Closes the segment being appended to. Its records must be durable first: their writers may be
// waiting for a group sync, which only syncs the newest file. mu_ held.
bool disk_queue::seal_active() {
    if (!active_file_) return true;
    if (written_ > std::max(synced_, sealed_upto_)) {
        if (auto st = active_file_->sync(); !st) {
            failed_upto_ = written_;
            logging::error(
                "disk queue: sync failed; the payloads written since the last sync are "
                "refused",
                {{"dir", dir_}, {"error", st.error_message()}});
            active_file_.reset();
            return false;
        }
    }
    sealed_upto_ = written_;
    active_file_.reset();
    return true;
}

status disk_queue::start_segment(std::uint64_t first_id) {
    if (!seal_active()) return make_error("cannot sync the previous segment");
    const std::string name = segment_name(first_id);
    const std::string tmp = dir_ + "/tmp-" + name;
    const std::string path = dir_ + "/" + name;
    std::string header(k_magic, 4);
    put32(header, k_version);
    status st;
    {
        auto created = fs_.create_file(tmp, 0600);
        if (!created) return make_error(created.error_message());
        st = (*created)->append(header);
        if (st) st = (*created)->sync();
        if (status closed = (*created)->close(); st && !closed) st = closed;
    }
    if (st) st = fs_.rename(tmp, path);
    if (!st) {
        (void)fs_.remove(tmp);
        return st;
    }
    sync_dir();
    // Opened again under its final name, so that errors (and tests' injected faults) name it.
    auto f = fs_.open_appendable(path);
    if (!f) {
        (void)fs_.remove(path);  // only a header: nothing lost
        sync_dir();
        return make_error(f.error_message());
    }
    active_file_ = std::shared_ptr<mg::writable_file>(std::move(*f));
    active_ = first_id;
    segments_[first_id] = segment{path, header.size(), 0};
    bytes_ += header.size();
    return {};
}

disk_queue::append_status disk_queue::append(payload& p) {
    if (p.tenant.size() > k_max_tenant) {
        logging::error("disk queue: a tenant longer than the record format allows; refused",
                       {{"bytes", p.tenant.size()}, {"max", k_max_tenant}});
        return append_status::error;
    }
    if (p.body.size() + p.tenant.size() + k_meta_size >= k_max_record) return append_status::full;
    std::string rec;
    rec.reserve(8 + k_meta_size + p.tenant.size());
    put32(rec, static_cast<std::uint32_t>(k_meta_size + p.tenant.size() + p.body.size()));
    put32(rec, 0);  // crc, below
    std::uint64_t seq = 0;
    std::uint64_t id = 0;
    {
        std::lock_guard lock(mu_);
        id = next_id_;
        put64(rec, id);
        rec.push_back(static_cast<char>(p.format));
        rec.push_back(static_cast<char>(p.compressed ? 1 : 0));
        rec.push_back(static_cast<char>(p.tenant.size() & 0xff));
        rec.push_back(static_cast<char>((p.tenant.size() >> 8) & 0xff));
        put32(rec, p.series);
        put64(rec, p.points);
        rec += p.tenant;  // after the meta, before the body
        const std::uint32_t c =
            crc(rec.data() + 8, k_meta_size + p.tenant.size(), p.body.data(), p.body.size());
        for (int i = 0; i < 4; ++i) rec[4 + i] = static_cast<char>((c >> (8 * i)) & 0xff);

        const std::uint64_t need = rec.size() + p.body.size();
        const bool rotate = !active_file_ || segments_.at(active_).size >= segment_bytes_;
        if (bytes_ + need + (rotate ? k_header_size : 0) > max_bytes_) return append_status::full;
        if (rotate) {
            if (auto st = start_segment(id); !st) {
                logging::error("disk queue: cannot start a segment",
                               {{"error", st.error_message()}});
                return append_status::error;
            }
        }
        segment& seg = segments_.at(active_);
        status st = active_file_->append(rec);
        if (st) st = active_file_->append(p.body);
        if (!st) {
            logging::error("disk queue: write failed; the payload is refused",
                           {{"file", seg.path}, {"error", st.error_message()}});
            // Cut the partial record off so later records stay readable; failing that, seal the
            // segment (open() cuts the torn record), and drop it when nothing in it is live.
            if (auto cut = active_file_->truncate(seg.size); !cut) {
                logging::error("disk queue: cannot cut off the partial record; segment sealed",
                               {{"file", seg.path}, {"error", cut.error_message()}});
                seal_active();
                if (seg.live == 0) maybe_remove(active_);
            }
            return append_status::error;
        }
        seg.size += need;
        ++seg.live;
        bytes_ += need;
        ++next_id_;
        seq = ++written_;
    }
    if (!sync_upto(seq)) {
        // Refused, so nobody will acknowledge it; the record may still be on disk and be sent
        // after a restart (the sender was told to retry: a duplicate, never a loss).
        ack(std::span<const std::uint64_t>(&id, 1));
        return append_status::error;
    }
    p.disk_id = id;
    return append_status::ok;
}

// Group commit: one fdatasync covers every record written before it started, so concurrent
// appenders share syncs instead of queueing one sync each behind mu_.
bool disk_queue::sync_upto(std::uint64_t seq) {
    std::lock_guard sync_lock(sync_mu_);
    std::shared_ptr<mg::writable_file> f;
    std::uint64_t target = 0;
    {
        std::lock_guard lock(mu_);
        if (seq <= failed_upto_) return false;
        if (seq <= synced_ || seq <= sealed_upto_) return true;
        f = active_file_;  // seq > sealed_upto_: the record is in this file
        target = written_;
    }
    if (!f) return false;
    const status st = f->sync();
    std::lock_guard lock(mu_);
    ++syncs_;
    if (!st) {
        failed_upto_ = std::max(failed_upto_, target);
        logging::error(
            "disk queue: sync failed; the payloads written since the last sync are "
            "refused",
            {{"dir", dir_}, {"error", st.error_message()}});
        return false;
    }
    synced_ = std::max(synced_, target);
    return true;
}

void disk_queue::ack(std::span<const std::uint64_t> ids) {
    std::lock_guard lock(mu_);
    std::vector<std::uint64_t> touched;
    for (auto id : ids) {
        if (id == 0) continue;
        auto it = segments_.upper_bound(id);
        if (it == segments_.begin()) continue;
        --it;
        if (it->second.live > 0) --it->second.live;
        touched.push_back(it->first);
    }
    for (auto first : touched) maybe_remove(first);
}

void disk_queue::maybe_remove(std::uint64_t first_id) {
    auto it = segments_.find(first_id);
    if (it == segments_.end() || it->second.live != 0) return;
    // Every record in it was acknowledged, so synced: nothing to seal.
    if (first_id == active_) active_file_.reset();
    remove_segment(it);
}

void disk_queue::remove_segment(std::map<std::uint64_t, segment>::iterator it) {
    if (auto st = fs_.remove(it->second.path); !st) {
        logging::error("disk queue: cannot remove a delivered segment; it will be replayed",
                       {{"file", it->second.path}, {"error", st.error_message()}});
    }
    bytes_ -= std::min(bytes_, it->second.size);
    segments_.erase(it);
    sync_dir();
}

void disk_queue::sync_dir() {
    if (auto st = fs_.sync_dir(dir_); !st) {
        logging::warn("disk queue: directory fsync failed",
                      {{"dir", dir_}, {"error", st.error_message()}});
    }
}

std::uint64_t disk_queue::bytes() const {
    std::lock_guard lock(mu_);
    return bytes_;
}

std::uint64_t disk_queue::corrupt() const {
    std::lock_guard lock(mu_);
    return corrupt_;
}

std::uint64_t disk_queue::syncs() const {
    std::lock_guard lock(mu_);
    return syncs_;
}

std::uint64_t disk_queue::live_records() const {
    std::lock_guard lock(mu_);
    std::uint64_t n = 0;
    for (const auto& [id, s] : segments_) n += s.live;
    return n;
}

}  // namespace mg::exporter
