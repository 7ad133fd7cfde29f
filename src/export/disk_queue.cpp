#include "export/disk_queue.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "logging/log.h"

namespace mg::exporter {

namespace fs = std::filesystem;

namespace {

constexpr char k_magic[4] = {'M', 'G', 'D', 'Q'};
constexpr std::uint32_t k_version = 1;
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

std::string errno_text() {
    return std::strerror(errno);
}

bool write_all(int fd, const char* p, std::size_t n) {
    while (n > 0) {
        const ssize_t w = ::write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        p += w;
        n -= static_cast<std::size_t>(w);
    }
    return true;
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

disk_queue::disk_queue(std::string dir, std::uint64_t max_bytes, std::uint64_t segment_bytes)
    : dir_(std::move(dir)),
      max_bytes_(max_bytes),
      segment_bytes_(segment_bytes != 0
                         ? segment_bytes
                         : std::clamp<std::uint64_t>(max_bytes / 16, 1 << 20, 64 << 20)) {}

disk_queue::file::~file() {
    if (fd >= 0) ::close(fd);
}

disk_queue::~disk_queue() {
    if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

result<std::unique_ptr<disk_queue>> disk_queue::open(const std::string& dir,
                                                     std::uint64_t max_bytes,
                                                     std::uint64_t segment_bytes) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return make_error("-queue-path " + dir + ": cannot create: " + ec.message());
    ::chmod(dir.c_str(), 0700);
    std::unique_ptr<disk_queue> q(new disk_queue(dir, max_bytes, segment_bytes));
    const std::string lock = dir + "/LOCK";
    q->lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (q->lock_fd_ < 0)
        return make_error("-queue-path " + dir + ": not writable: " + errno_text());
    if (::flock(q->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
        return make_error("-queue-path " + dir + ": locked by another process: " + errno_text());
    }
    if (auto st = q->recover(); !st)
        return make_error("-queue-path " + dir + ": " + st.error_message());
    return q;
}

status disk_queue::recover() {
    std::vector<std::pair<std::uint64_t, std::string>> files;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir_, ec)) {
        const std::string name = e.path().filename().string();
        std::uint64_t id = 0;
        if (name.rfind("tmp-", 0) == 0) {
            fs::remove(e.path(), ec);  // a rotation that did not finish: never held data
            continue;
        }
        if (parse_segment_name(name, id)) files.emplace_back(id, e.path().string());
    }
    if (ec) return make_error("cannot list: " + ec.message());
    std::sort(files.begin(), files.end());

    for (const auto& [first_id, path] : files) {
        std::ifstream in(path, std::ios::binary);
        std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (!in.good() && !in.eof()) return make_error("cannot read " + path);
        if (data.size() < k_header_size || std::memcmp(data.data(), k_magic, 4) != 0 ||
            get(data.data() + 4, 4) != k_version) {
            ++corrupt_;
            const std::string bad = path + ".corrupt";
            logging::error("disk queue: segment without a valid header set aside",
                           {{"file", path}, {"renamed_to", bad}, {"bytes", data.size()}});
            fs::rename(path, bad, ec);
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
            if (!ok) {
                ++corrupt_;
                logging::error("disk queue: torn or corrupt record; the segment is cut off there",
                               {{"file", path}, {"offset", off}, {"bytes_dropped", left}});
                if (::truncate(path.c_str(), static_cast<off_t>(off)) != 0) {
                    return make_error("cannot truncate " + path + ": " + errno_text());
                }
                if (int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC); fd >= 0) {
                    ::fdatasync(fd);
                    ::close(fd);
                }
                data.resize(off);
                break;
            }
            payload r;
            r.disk_id = get(m, 8);
            r.format = static_cast<payload_format>(format);
            r.compressed = m[9] != 0;
            r.series = static_cast<std::uint32_t>(get(m + 12, 4));
            r.points = get(m + 16, 8);
            r.body.assign(m + k_meta_size, len - k_meta_size);
            last_id = std::max(last_id, r.disk_id);
            recovered_.push_back(std::move(r));
            ++records;
            off += 8 + len;
        }
        if (records == 0) {
            fs::remove(path, ec);
            continue;
        }
        segments_[first_id] = segment{path, data.size(), records};
        bytes_ += data.size();
        next_id_ = std::max(next_id_, last_id + 1);
    }
    sync_dir();
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
    if (written_ > std::max(synced_, sealed_upto_) && ::fdatasync(active_file_->fd) != 0) {
        failed_upto_ = written_;
        logging::error(
            "disk queue: sync failed; the payloads written since the last sync are "
            "refused",
            {{"dir", dir_}, {"error", errno_text()}});
        active_file_.reset();
        return false;
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
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return make_error("cannot create " + tmp + ": " + errno_text());
    std::string header(k_magic, 4);
    put32(header, k_version);
    if (!write_all(fd, header.data(), header.size()) || ::fdatasync(fd) != 0 ||
        ::rename(tmp.c_str(), path.c_str()) != 0) {
        const std::string err = errno_text();
        ::close(fd);
        ::unlink(tmp.c_str());
        return make_error("cannot create " + path + ": " + err);
    }
    sync_dir();
    active_file_ = std::make_shared<file>(fd);
    active_ = first_id;
    segments_[first_id] = segment{path, header.size(), 0};
    bytes_ += header.size();
    return {};
}

disk_queue::append_status disk_queue::append(payload& p) {
    if (p.body.size() + k_meta_size >= k_max_record) return append_status::full;
    std::string rec;
    rec.reserve(8 + k_meta_size);
    put32(rec, static_cast<std::uint32_t>(k_meta_size + p.body.size()));
    put32(rec, 0);  // crc, below
    std::uint64_t seq = 0;
    std::uint64_t id = 0;
    {
        std::lock_guard lock(mu_);
        id = next_id_;
        put64(rec, id);
        rec.push_back(static_cast<char>(p.format));
        rec.push_back(static_cast<char>(p.compressed ? 1 : 0));
        rec.append(2, '\0');
        put32(rec, p.series);
        put64(rec, p.points);
        const std::uint32_t c = crc(rec.data() + 8, k_meta_size, p.body.data(), p.body.size());
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
        const int fd = active_file_->fd;
        if (!write_all(fd, rec.data(), rec.size()) ||
            !write_all(fd, p.body.data(), p.body.size())) {
            logging::error("disk queue: write failed; the payload is refused",
                           {{"file", seg.path}, {"error", errno_text()}});
            // Cut the partial record off so later records stay readable; failing that, seal the
            // segment (open() cuts the torn record).
            if (::ftruncate(fd, static_cast<off_t>(seg.size)) != 0) seal_active();
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
    std::shared_ptr<file> f;
    std::uint64_t target = 0;
    {
        std::lock_guard lock(mu_);
        if (seq <= failed_upto_) return false;
        if (seq <= synced_ || seq <= sealed_upto_) return true;
        f = active_file_;  // seq > sealed_upto_: the record is in this file
        target = written_;
    }
    if (!f) return false;
    const bool ok = ::fdatasync(f->fd) == 0;
    std::lock_guard lock(mu_);
    ++syncs_;
    if (!ok) {
        failed_upto_ = std::max(failed_upto_, target);
        logging::error(
            "disk queue: sync failed; the payloads written since the last sync are "
            "refused",
            {{"dir", dir_}, {"error", errno_text()}});
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
    if (::unlink(it->second.path.c_str()) != 0 && errno != ENOENT) {
        logging::error("disk queue: cannot remove a delivered segment; it will be replayed",
                       {{"file", it->second.path}, {"error", errno_text()}});
    }
    bytes_ -= std::min(bytes_, it->second.size);
    segments_.erase(it);
    sync_dir();
}

void disk_queue::sync_dir() {
    const int fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    if (::fsync(fd) != 0) {
        logging::warn("disk queue: directory fsync failed",
                      {{"dir", dir_}, {"error", errno_text()}});
    }
    ::close(fd);
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
