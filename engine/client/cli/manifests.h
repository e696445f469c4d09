#pragma once
// Reading the objects that -f names: files, directories (their .yaml, .yml and .json files,
// descending with -R), and "-" for standard input; multi-document YAML and "kind: List"
// documents expand to their objects.

#include <iosfwd>
#include <string>
#include <vector>

#include "engine/api/status.h"

namespace kd::cli {

struct Manifest {
  std::string source;  // the file it came from ("STDIN" for -)
  json object;
};

Result<std::vector<Manifest>> loadManifests(const std::vector<std::string>& filenames,
                                            bool recursive, std::istream& stdinStream);

}  // namespace kd::cli
