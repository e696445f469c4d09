#pragma once
// Removing a directory tree the way pod teardown needs it: many trees at once on the sync
// pool's threads, with little memory.

#include <filesystem>
#include <system_error>

namespace kd::node {

// Removes `path` and everything under it, as std::filesystem::remove_all does (symbolic
// links are removed, never followed; a missing path is not an error), but with one directory
// stream buffer of 4 KiB at a time. remove_all holds a glibc DIR (a 32 KiB buffer) open for
// every level it descends, so eight threads tearing pods down at once held ~1 MB. On failure
// `ec` holds the first error and what was not yet removed stays.
void removeTree(const std::filesystem::path& path, std::error_code& ec);

}  // namespace kd::node
