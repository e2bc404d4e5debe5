// Fuzzes the commit record decoder: format::decode on one record, scan_log and
// salvage_records over a whole commits.log.
//
// Input: flags:u8 | log bytes. Flag bit 0 fixes the records' body hashes first
// (record_hashes.hpp), so mutations reach the body's layout.
// Properties: a record that decodes encodes back to the same header and body;
// a scan's records are consecutive versions at increasing offsets inside the log.

#include <fcntl.h>

#include <cstdint>
#include <fstream>
#include <string>

#include "core/commit_log.hpp"
#include "tests/fuzz/fuzz_check.hpp"
#include "tests/fuzz/record_hashes.hpp"
#include "tests/temp_dir.hpp"

using namespace serialake;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string log(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) fuzz::fix_record_hashes(log);

  format::record r;
  size_t used = 0;
  if (format::decode(log, r, used) == format::decode_status::ok) {
    std::string again;
    format::encode(r, again);
    fuzz::check(again == log.substr(0, format::head_size(log)), "decode then encode gives other bytes");
    fuzz::check(used == again.size() + r.data_len, "decode's extent is not header + body + data");
  }

  test::temp_dir dir;
  const std::string path = dir / format::log_file;
  std::ofstream(path, std::ios::binary).write(log.data(), static_cast<std::streamsize>(log.size()));
  fuzz::answers([&] {
    io::file f = io::file::open(path, O_RDONLY);
    log_scan scan = scan_log(f, 0, 0);
    fuzz::check(scan.valid_end <= scan.size && scan.size == log.size(), "scan ends past the log");
    fuzz::check(scan.records.size() == scan.offsets.size(), "a record without an offset");
    for (size_t i = 0; i < scan.records.size(); ++i) {
      fuzz::check(scan.records[i].version == i + 1, "scanned versions are not 1, 2, ...");
      fuzz::check(i == 0 || scan.offsets[i] > scan.offsets[i - 1], "scanned offsets do not grow");
    }
    fuzz::check((scan.tail == log_tail::damaged) == !scan.damage.empty(), "damage without a reason");
    fuzz::check(scan.tail != log_tail::none || scan.valid_end == scan.size, "an untold tail");
    salvage_records(f, 0);
  });
  return 0;
}
