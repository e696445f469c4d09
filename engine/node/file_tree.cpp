#include "engine/node/file_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace kd::node {
namespace {

// The names in the open directory `fd`, read with getdents64 into a 4 KiB buffer that is
// freed before the caller descends.
bool entryNames(int fd, std::vector<std::string>& names) {
  constexpr size_t kBufferBytes = 4096;
  auto buffer = std::make_unique<char[]>(kBufferBytes);
  for (;;) {
    const ssize_t n = ::getdents64(fd, buffer.get(), kBufferBytes);
    if (n < 0) return false;
    if (n == 0) return true;
    for (ssize_t at = 0; at < n;) {
      const auto* entry = reinterpret_cast<const dirent64*>(buffer.get() + at);
      at += entry->d_reclen;
      if (std::strcmp(entry->d_name, ".") == 0 || std::strcmp(entry->d_name, "..") == 0) continue;
      names.emplace_back(entry->d_name);
    }
  }
}

// Removes `name` in the directory `parent` (a descriptor, or AT_FDCWD for a path).
bool removeAt(int parent, const std::string& name, std::error_code& ec) {
  if (::unlinkat(parent, name.c_str(), 0) == 0 || errno == ENOENT) return true;
  if (errno != EISDIR) {
    ec.assign(errno, std::generic_category());
    return false;
  }
  const int fd = ::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return true;
    ec.assign(errno, std::generic_category());
    return false;
  }
  std::vector<std::string> names;
  bool ok = entryNames(fd, names);
  if (!ok) ec.assign(errno, std::generic_category());
  for (const std::string& child : names) {
    if (!(ok = removeAt(fd, child, ec))) break;
  }
  ::close(fd);
  if (!ok) return false;
  if (::unlinkat(parent, name.c_str(), AT_REMOVEDIR) == 0 || errno == ENOENT) return true;
  ec.assign(errno, std::generic_category());
  return false;
}

}  // namespace

void removeTree(const std::filesystem::path& path, std::error_code& ec) {
  ec.clear();
  removeAt(AT_FDCWD, path.string(), ec);
}

}  // namespace kd::node
