// Writes the seed corpora of the harnesses under <dir> (tests/fuzz): small real
// inputs made by the real code (the store, the lock backend, the codecs), so
// that fuzzing starts from valid files rather than from nothing.
//
//   build-fuzz/tests/fuzz/make_seeds tests/fuzz
//
// Seeds have fixed names: running it again replaces them (their bytes change:
// writer ids, times and lock tokens are random).

#include <cstdio>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "core/base64.hpp"
#include "app/cli/json_codec.hpp"
#include "core/file_io.hpp"
#include "core/format.hpp"
#include "core/lock_file.hpp"
#include "core/schema.hpp"
#include "core/store.hpp"
#include "tests/fuzz/dataset_image.hpp"
#include "tests/fuzz/row_schema.hpp"
#include "tests/temp_dir.hpp"

using namespace serialake;

namespace {

std::string out_dir;

void seed(const std::string& harness, const std::string& name, const std::string& bytes) {
  io::make_dirs(out_dir + "/" + harness);
  std::ofstream(out_dir + "/" + harness + "/" + name, std::ios::binary | std::ios::trunc)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string file_of(const std::string& dir, const char* name) { return io::read_file(dir + "/" + name); }

// One dataset as every harness that reads its files sees it.
void dataset_seeds(const std::string& name, const std::string& dir) {
  seed("dataset", name, fuzz::pack_image(fuzz::read_image(dir)));
  seed("dataset", name + "-fixed", fuzz::pack_image(fuzz::read_image(dir), 1));
  seed("record", name, std::string(1, '\1') + file_of(dir, format::log_file));
  seed("schema", name, file_of(dir, format::schema_file));
}

sample text(const std::string& s) { return sample::of_text(s); }

void datasets() {
  {  // created, nothing committed
    test::temp_dir d;
    store::create(d / "ds", {}, {{"label", dtype::int64, "class_label", {}}, {"caption", dtype::text, "text", {}}});
    dataset_seeds("empty", d / "ds");
  }
  {  // small commits: samples inlined in the log
    test::temp_dir d;
    auto s = store::create(d / "ds", {},
                           {{"label", dtype::int64, "class_label", {}},
                            {"caption", dtype::text, "text", {}},
                            {"meta", dtype::json, "json", {}},
                            {"vec", dtype::float32, "embedding", shape_t{4}},
                            {"flag", dtype::boolean, "generic", shape_t{}}});
    for (int i = 0; i < 3; ++i)
      s->append_row({{"label", sample::scalar<int64_t>(dtype::int64, i)},
                     {"caption", text("sample " + std::to_string(i))},
                     {"meta", sample::of_json(R"({"i":)" + std::to_string(i) + "}")},
                     {"vec", sample::of<float>(dtype::float32, {1.f, 2.f, 3.f, float(i)}, {4})},
                     {"flag", sample::scalar<uint8_t>(dtype::boolean, uint8_t(i % 2))}});
    s->commit("first");
    s->append_row({{"label", sample::scalar<int64_t>(dtype::int64, 9)}, {"caption", text("late")},
                   {"meta", sample::of_json("[]")},
                   {"vec", sample::of<float>(dtype::float32, {0, 0, 0, 0}, {4})},
                   {"flag", sample::scalar<uint8_t>(dtype::boolean, 1)}});
    s->commit();
    s->close();
    dataset_seeds("inline", d / "ds");
  }
  {  // samples past the write buffer: chunk files, several chunks per tensor
    test::temp_dir d;
    store_options o;
    o.write_buffer_bytes = 32;
    o.chunk_bytes = 128;
    auto s = store::create(d / "ds", o, {{"image", dtype::uint8, "image", {}}, {"label", dtype::int64, "class_label", {}}});
    for (int c = 0; c < 2; ++c) {
      for (int i = 0; i < 3; ++i)
        s->append_row({{"image", sample::of<uint8_t>(dtype::uint8, std::vector<uint8_t>(20, uint8_t(i)), {4, 5})},
                       {"label", sample::scalar<int64_t>(dtype::int64, i)}});
      s->commit(c ? "" : "chunked");
    }
    // A session still open (as after a crash), then with a torn record after it.
    dataset_seeds("open-session", d / "ds");
    auto files = fuzz::read_image(d / "ds");
    for (auto& [path, bytes] : files)
      if (path == format::log_file) bytes += bytes.substr(0, 40);
    seed("dataset", "torn-tail", fuzz::pack_image(files));
    s->close();
    dataset_seeds("chunked", d / "ds");
  }
}

void lock_seeds() {
  test::temp_dir d;
  store::create(d / "ds")->close();
  const std::string dir = d / "ds";
  file_lock_backend_impl backend;
  const lock_settings s;
  {
    auto l = backend.acquire(dir, s);
    const std::string held = file_of(dir, format::lock_file);
    seed("lock_file", "writer", held);
    auto j = nlohmann::json::parse(held);
    j["flock"] = false;
    seed("lock_file", "writer-without-flock", j.dump() + "\n");
    j["flock"] = true;
    j["host"] = "elsewhere";
    j["heartbeat_ms"] = 0;
    seed("lock_file", "other-host-stale", j.dump() + "\n");
  }
  seed("lock_file", "free", file_of(dir, format::lock_file));
  backend.lock(dir, s);
  seed("lock_file", "maintenance", file_of(dir, format::lock_file));
  seed("lock_file", "empty", "");
}

void row_seeds() {
  const auto specs = fuzz::row_specs();
  auto line = [&](const std::string& name, bool allow_missing, const std::string& text) {
    cli::read_row(text, 1, specs, "seed", allow_missing);  // a seed must be valid
    seed("json_row", name, std::string(1, char(allow_missing)) + text);
  };
  line("every-dtype", false,
       R"({"flag":true,"u8":255,"u16":[1,65535],"u32":7,"u64":18446744073709551615,"i8":-128,)"
       R"("i16":[[1,2],[3,4]],"i32":-5,"label":3,"f32":[[1.5,"NaN",0.0],[-0.0,"Infinity",1e-7]],)"
       R"("f64":2.5,"raw":"aGVsbG8=","caption":"a cat \u00e9","meta":{"k":[1,null,"x"],"b":false}})");
  line("some-tensors", true, R"({"label":1,"caption":"dog","f64":"-Infinity","i16":[]})");
}

void base64_seeds() {
  std::string all;
  for (int i = 0; i < 256; ++i) all += char(i);
  for (const std::string& s : {std::string(), std::string("f"), std::string("fo"), std::string("foo"), all})
    seed("base64", "len-" + std::to_string(s.size()), base64_encode(s));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds <tests/fuzz folder>\n");
    return 64;
  }
  out_dir = argv[1];
  datasets();
  lock_seeds();
  row_seeds();
  base64_seeds();
  return 0;
}
