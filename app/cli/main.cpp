// The `serialake` command line: CLI11 wiring, logging, and the one place where
// errors become an exit status and a single line on stderr.

#include <cstdio>
#include <exception>
#include <new>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "app/cli/commands.hpp"
#include "app/cli/ingest.hpp"
#include "app/cli/search.hpp"
#include "serialake/remote.hpp"
#include "service/server.hpp"

using namespace serialake;
using namespace serialake::cli;

namespace {

// Prints "serialake: <message>" and returns the exit status.
int fail(int status, const std::string& message) {
  std::fflush(stdout);
  std::fprintf(stderr, "serialake: %s\n", message.c_str());
  return status;
}

CLI::App* command(CLI::App& app, const char* name, const char* what, const char* example) {
  auto* c = app.add_subcommand(name, what);
  c->footer(std::string("Example:\n  ") + example);
  return c;
}

// Options given as optional values: CLI11 fills a plain variable, count() says
// whether it was given.
void optional_u64(CLI::App* c, const char* name, std::optional<uint64_t>& out, uint64_t& tmp,
                  const char* what, std::vector<std::function<void()>>& finish) {
  auto* opt = c->add_option(name, tmp, what);
  finish.push_back([opt, &out, &tmp] {
    if (opt->count()) out = tmp;
  });
}

}  // namespace

int main(int argc, char** argv) {
  // Logs go to stderr only: stdout carries data (cat, info --json).
  auto logger = spdlog::stderr_logger_mt("serialake");
  logger->set_pattern("serialake: [%l] %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::warn);

  CLI::App app{"serialake: a chunked tensor dataset store"};
  app.set_version_flag("--version", "serialake " SERIALAKE_VERSION);
  app.require_subcommand(1);
  app.fallthrough();  // -v may follow the command
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "Debug logging on stderr");
  std::vector<std::function<void()>> finish;
  // For a PATH given as serialake://host:port/NAME (create, append, cat, ingest,
  // info, verify, commit, log, search): how to reach the server.
  remote_args remote;
  app.add_option("--token-file", remote.token_file,
                 "serialake:// paths: file holding the server's bearer token (default: $SERIALAKE_TOKEN)");
  app.add_option("--tls-ca", remote.tls_ca, "serialake:// paths: PEM file of the server's CA (TLS)");
  uint64_t tmp_end = 0, tmp_cat_v = 0, tmp_info_v = 0, tmp_verify_v = 0, tmp_export_v = 0, tmp_search_v = 0;

  create_args ca;
  auto* create = command(app, "create", "Create a dataset with the given tensors",
                         "serialake create photos.serialake --tensor image:uint8:image "
                         "--tensor label:int64:class_label --tensor embedding:float32:embedding:384");
  create->add_option("PATH", ca.path, "Dataset directory (must not exist or be empty), or serialake://host:port/NAME")->required();
  create->add_option("--tensor", ca.tensors,
                     "A tensor: NAME:DTYPE[:HTYPE[:SHAPE]], SHAPE like 384 or 3x224x224; repeatable")
      ->type_name("SPEC");

  append_args aa;
  auto* append = command(app, "append",
                         "Append JSON Lines rows from stdin: all committed (exit 0) or none",
                         "echo '{\"label\": 3, \"caption\": \"a cat\"}' | serialake append photos.serialake");
  append->add_option("PATH", aa.path, "Dataset directory, or serialake://host:port/NAME")->required();
  append->add_option("--lock", aa.lock_uri,
                 "Lock with this service instead of the lock file: redis://host:port[/key], "
                 "zk://host:port[/path] or etcd://host:port[/prefix] (default: $SERIALAKE_LOCK if set)")->type_name("URI");
  append->add_option("--lock-timeout", aa.lock_timeout,
                     "Seconds to wait for another writer's lock (default 0: fail at once)");
  append->add_flag("--durable", aa.durable, "Acknowledge rows only once their commit is on disk");
  append->add_flag("--allow-missing", aa.allow_missing,
                   "Accept rows that name only some tensors (the others stay shorter); "
                   "by default a row must name every tensor");

  cat_args cta;
  auto* cat = command(app, "cat", "Write rows as JSON Lines (the encoding append reads)",
                      "serialake cat photos.serialake --tensor label --start 0 --end 10");
  cat->add_option("PATH", cta.path, "Dataset directory, or serialake://host:port/NAME")->required();
  cat->add_option("--tensor", cta.tensors, "Only this tensor; repeatable")->type_name("NAME");
  cat->add_option("--start", cta.start, "First row (default 0)");
  optional_u64(cat, "--end", cta.end, tmp_end, "One past the last row (default: all)", finish);
  optional_u64(cat, "--version", cta.version, tmp_cat_v, "Read this committed version", finish);

  ingest_args ia;
  auto* ingest = command(app, "ingest", "Ingest an image-folder tree (SRC_DIR/<class>/<file>)",
                         "serialake ingest ~/pets pets.serialake --threads 8");
  ingest->add_option("SRC_DIR", ia.src,
                     "Folder with one subfolder per class; links are followed, hidden entries skipped")
      ->required();
  ingest->add_option("PATH", ia.path, "Dataset directory (created if missing), or serialake://host:port/NAME")->required();
  ingest->add_option("--lock", ia.lock_uri,
                 "Lock with this service instead of the lock file: redis://host:port[/key], "
                 "zk://host:port[/path] or etcd://host:port[/prefix] (default: $SERIALAKE_LOCK if set)")->type_name("URI");
  ingest->add_option("--threads", ia.threads,
                     "Reader threads (default 4); rows are in sorted-path order for any count");
  ingest->add_flag("--resume", ia.resume,
                   "Skip files whose path the dataset already stores (rerun after a failure; without it a "
                   "rerun stores every file again)");
  ingest->add_option("--lock-timeout", ia.lock_timeout, "Seconds to wait for another writer's lock");
  ingest->footer(
      "Tensors: file (bytes), label (int64), path (text: where the file lies under SRC_DIR; a name\n"
      "that is not UTF-8 is stored quoted, with \\xNN for its bytes), class_names (text).\n"
      "Exit 65 if any entry was not stored (unreadable, dangling link, not a regular file, not in a\n"
      "class folder): each is named on stderr. If the dataset fails the run stops, the summary\n"
      "says how many files were committed; rerun with --resume.\n\n"
      "Example:\n  serialake ingest ~/pets pets.serialake --threads 8 --resume");

  info_args ina;
  auto* info = command(app, "info", "Show tensors, lengths, chunks, bytes and commits",
                       "serialake info photos.serialake --json");
  info->add_option("PATH", ina.path, "Dataset directory, or serialake://host:port/NAME")->required();
  info->add_flag("--json", ina.json, "Print JSON instead of a table");
  optional_u64(info, "--version", ina.version, tmp_info_v, "Describe this committed version", finish);

  verify_args va;
  auto* verify = command(app, "verify", "Check every sample's checksum; exit 65 if any is wrong",
                         "serialake verify photos.serialake");
  verify->add_option("PATH", va.path, "Dataset directory, or serialake://host:port/NAME")->required();
  optional_u64(verify, "--version", va.version, tmp_verify_v, "Check this committed version", finish);

  export_args ea;
  auto* exp = command(app, "export", "Export a numeric tensor as a NumPy .npy file",
                      "serialake export photos.serialake embedding --npy embedding.npy");
  exp->add_option("PATH", ea.path, "Dataset directory")->required();
  exp->add_option("TENSOR", ea.tensor, "Tensor to export (numeric, one shape for all samples)")->required();
  exp->add_option("--npy", ea.npy, "Output file")->required();
  optional_u64(exp, "--version", ea.version, tmp_export_v, "Export this committed version", finish);

  search_args sa;
  auto* srch = command(app, "search",
                       "Top-k rows of an embedding tensor for each query vector (JSON arrays on stdin)",
                       "serialake search photos.serialake embedding --k 10 --metric cos < queries.jsonl");
  srch->add_option("PATH", sa.path, "Dataset directory")->required();
  srch->add_option("TENSOR", sa.tensor, "A float32 tensor of fixed shape [d]")->required();
  srch->add_option("--k", sa.k, "Results per query (1 to 1000, default 10)");
  srch->add_option("--metric", sa.metric, "cos (default), l2 (squared distance) or ip");
  srch->add_flag("--exact", sa.exact, "Scan every row even if the tensor has an ANN index (serialake index)");
  srch->add_option("--threads", sa.threads, "Threads scanning the rows (default 1)");
  optional_u64(srch, "--version", sa.version, tmp_search_v, "Search this committed version", finish);
  srch->footer(
      "Output: one line per query line, in order: {\"results\": [{\"index\": i, \"score\": s}, ...]},\n"
      "best first; equal scores by row index. Exit 65 at the first bad line (not an array of\n"
      "numbers, wrong dimension, NaN), naming it, after the lines before it were answered.\n\n"
      "Example:\n  serialake search photos.serialake embedding --k 10 --metric cos < queries.jsonl");

  index_args xa;
  auto* idx = command(app, "index", "Build (or rebuild) an embedding tensor's ANN index (HNSW) from the last commit",
                      "serialake index photos.serialake embedding --metric cos");
  idx->add_option("PATH", xa.path, "Dataset directory")->required();
  idx->add_option("TENSOR", xa.tensor, "A float32 tensor of fixed shape [d]")->required();
  idx->add_option("--metric", xa.metric, "The metric searches will use: cos (default), l2 or ip");

  commit_args cma;
  auto* commit = command(app, "commit", "Make a named version of everything committed so far",
                         "serialake commit photos.serialake -m \"first batch\"");
  commit->add_option("PATH", cma.path, "Dataset directory, or serialake://host:port/NAME")->required();
  commit->add_option("--lock", cma.lock_uri,
                 "Lock with this service instead of the lock file: redis://host:port[/key], "
                 "zk://host:port[/path] or etcd://host:port[/prefix] (default: $SERIALAKE_LOCK if set)")->type_name("URI");
  commit->add_option("-m,--message", cma.message, "Commit message")->required();
  commit->add_option("--lock-timeout", cma.lock_timeout, "Seconds to wait for another writer's lock");

  log_args la;
  auto* log = command(app, "log", "List named commits, oldest first", "serialake log photos.serialake --all");
  log->add_option("PATH", la.path, "Dataset directory, or serialake://host:port/NAME")->required();
  log->add_flag("--all", la.all, "Also list commits made by flush and group commit");

  lock_args lka;
  auto* lock = command(app, "lock", "Take the maintenance lock: writers fail until unlock",
                       "serialake lock photos.serialake");
  lock->add_option("PATH", lka.path, "Dataset directory")->required();
  lock->add_option("--lock", lka.lock_uri,
                 "Lock with this service instead of the lock file: redis://host:port[/key], "
                 "zk://host:port[/path] or etcd://host:port[/prefix] (default: $SERIALAKE_LOCK if set)")->type_name("URI");
  lock->add_option("--lock-timeout", lka.lock_timeout, "Seconds to wait while another holder has it");

  lock_args ula;
  auto* unlock = command(app, "unlock", "Release the maintenance lock or a dead writer's lock",
                         "serialake unlock photos.serialake --force");
  unlock->add_option("PATH", ula.path, "Dataset directory")->required();
  unlock->add_option("--lock", ula.lock_uri,
                 "Lock with this service instead of the lock file: redis://host:port[/key], "
                 "zk://host:port[/path] or etcd://host:port[/prefix] (default: $SERIALAKE_LOCK if set)")->type_name("URI");
  unlock->add_flag("--force", ula.force,
                   "Also break a live writer's lock (its next commit fails with lock_lost)");

  repair_args ra;
  auto* repair = command(app, "repair",
                         "Keep the good commits of a damaged dataset, move the rest aside",
                         "serialake repair photos.serialake");
  repair->add_option("PATH", ra.path, "Dataset directory")->required();
  repair->add_option("--lock", ra.lock_uri,
                 "Lock with this service instead of the lock file: redis://host:port[/key], "
                 "zk://host:port[/path] or etcd://host:port[/prefix] (default: $SERIALAKE_LOCK if set)")->type_name("URI");
  repair->add_option("--lock-timeout", ra.lock_timeout, "Seconds to wait for another writer's lock");

  service::serve_options so;
  auto* serve = command(app, "serve", "Serve the datasets under a directory over gRPC (service/serialake.proto)",
                        "serialake serve --listen 127.0.0.1:7433 --root /data --token-file token");
  serve->add_option("--listen", so.listen, "host:port to listen on (default 127.0.0.1:7433, loopback)");
  serve->add_option("--root", so.root, "Directory of the datasets: serialake://host:port/NAME is ROOT/NAME")
      ->required();
  serve->add_option("--lock", so.lock_uri,
                    "Lock every dataset with this service, redis://, zk:// or etcd://host:port, naming "
                    "each lock after its dataset's path (default: lock files)")->type_name("URI");
  serve->add_option("--token-file", so.token_file, "Require this file's bearer token on every call");
  serve->add_option("--tls-cert", so.tls_cert, "PEM certificate: serve TLS (with --tls-key)");
  serve->add_option("--tls-key", so.tls_key, "PEM private key of --tls-cert");
  serve->footer(
      "Stops cleanly on SIGTERM or SIGINT: lets running calls finish, commits and closes every\n"
      "dataset, releases their locks.\n\n"
      "Example:\n  serialake serve --listen 127.0.0.1:7433 --root /data --token-file token");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    return fail(64, std::string(e.what()) + " (see serialake --help)");
  }
  for (auto& f : finish) f();
  if (serve->parsed()) spdlog::set_level(spdlog::level::info);
  if (verbose) spdlog::set_level(spdlog::level::debug);
  ca.remote = aa.remote = cma.remote = cta.remote = ina.remote = la.remote = ia.remote = va.remote = sa.remote = remote;
  enable_remote();  // engine::open takes serialake:// URIs

  try {
    if (create->parsed()) return run_create(ca);
    if (append->parsed()) return run_append(aa);
    if (cat->parsed()) return run_cat(cta);
    if (ingest->parsed()) return run_ingest(ia);
    if (info->parsed()) return run_info(ina);
    if (verify->parsed()) return run_verify(va);
    if (exp->parsed()) return run_export(ea);
    if (commit->parsed()) return run_commit(cma);
    if (srch->parsed()) return run_search(sa);
    if (idx->parsed()) return run_index(xa);
    if (log->parsed()) return run_log(la);
    if (serve->parsed()) return service::serve(so);
    if (lock->parsed()) return run_lock(lka);
    if (unlock->parsed()) return run_unlock(ula);
    if (repair->parsed()) return run_repair(ra);
    return fail(64, "no command given (see serialake --help)");
  } catch (const usage_error& e) {
    return fail(64, e.what());
  } catch (const error& e) {
    spdlog::debug("error code {}", to_string(e.code()));
    return fail(exit_code(e.code()), e.message());
  } catch (const std::bad_alloc&) {
    return fail(70, "out of memory");
  } catch (const std::exception& e) {
    return fail(70, std::string("internal error: ") + e.what());
  }
}
