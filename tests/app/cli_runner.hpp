#pragma once
// Runs the built `serialake` binary as a user would: fork/exec with a given stdin,
// capturing stdout, stderr and the exit status. SERIALAKE_CLI (a compile
// definition) is the binary's path.

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/base64.hpp"
#include "tests/process.hpp"

namespace serialake::test {

/// A running `serialake` (or another program) with stdin, stdout and stderr piped.
class cli_process : public child {
 public:
  /// Starts `program args...` (by default the serialake binary).
  explicit cli_process(std::vector<std::string> args, std::string program = SERIALAKE_CLI)
    : child(with_program(std::move(args), std::move(program)), true) {}

 private:
  static std::vector<std::string> with_program(std::vector<std::string> args, std::string program) {
    args.insert(args.begin(), std::move(program));
    return args;
  }
};

/// A writer process that holds `ds` open (and locked) until its stdin is closed:
/// append opens the dataset before it reads stdin; -v makes it say when it has
/// opened. Throws (failing the test) if it has not opened within 30 s.
struct holder {
  cli_process p;
  explicit holder(const std::string& ds) : p({"-v", "append", ds}) {
    if (!p.wait_for_stderr("for writing"))
      throw std::runtime_error("the holder did not open " + ds + ": " + p.finish().err);
  }
};

/// Runs `serialake args...` with `input` on stdin to completion.
inline cli_result cli(std::vector<std::string> args, const std::string& input = {}) {
  return cli_process(std::move(args)).finish(input);
}

/// Runs another program (e.g. /usr/bin/python3) to completion.
inline cli_result run_program(const std::string& program, std::vector<std::string> args,
                              const std::string& input = {}) {
  return cli_process(std::move(args), program).finish(input);
}

/// The whole content of a file ("" if missing).
inline std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

/// Lines of `text`, without their newlines.
inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

/// `n` rows {"id": first+i, "blob": <size bytes of value first+i>}, as cat writes them.
inline std::string blob_rows(int first, int n, size_t size) {
  std::string out;
  for (int i = first; i < first + n; ++i)
    out += "{\"id\":" + std::to_string(i) + ",\"blob\":\"" +
           serialake::base64_encode(std::string(size, static_cast<char>(i))) + "\"}\n";
  return out;
}

}  // namespace serialake::test
