#include "engine/node/image_ref.h"

#include <algorithm>
#include <cctype>

namespace kd::node {

namespace {

constexpr std::string_view kDefaultDomain = "docker.io";

// The first path component names a registry when it looks like a host: it has a dot or a
// port, or is "localhost" (docker's rule).
bool looksLikeDomain(std::string_view component) {
  return component.find_first_of(".:") != std::string_view::npos || component == "localhost" ||
         std::any_of(component.begin(), component.end(),
                     [](unsigned char c) { return std::isupper(c); });
}

bool validPathChar(char c) {
  return std::islower(static_cast<unsigned char>(c)) ||
         std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' ||
         c == '/';
}

bool validTag(std::string_view tag) {
  if (tag.empty() || tag.size() > 128 || tag[0] == '.' || tag[0] == '-') return false;
  return std::all_of(tag.begin(), tag.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '.' || c == '-';
  });
}

bool validDigest(std::string_view digest) {
  constexpr std::string_view kPrefix = "sha256:";
  if (digest.substr(0, kPrefix.size()) != kPrefix || digest.size() != kPrefix.size() + 64) {
    return false;
  }
  return std::all_of(digest.begin() + kPrefix.size(), digest.end(),
                     [](unsigned char c) { return std::isdigit(c) || (c >= 'a' && c <= 'f'); });
}

Status invalid(std::string_view name, std::string_view why) {
  return Status::badRequest("invalid image reference \"" + std::string(name) +
                            "\": " + std::string(why));
}

}  // namespace

std::string ImageReference::full() const {
  std::string out = repository();
  if (!tag.empty()) out += ":" + tag;
  if (!digest.empty()) out += "@" + digest;
  return out;
}

Result<ImageReference> parseImageReference(std::string_view name) {
  if (name.empty()) return invalid(name, "empty");
  ImageReference ref;
  std::string_view rest = name;
  if (const auto at = rest.find('@'); at != std::string_view::npos) {
    ref.digest = std::string(rest.substr(at + 1));
    if (!validDigest(ref.digest)) return invalid(name, "bad digest");
    rest = rest.substr(0, at);
  }
  const auto slash = rest.find('/');
  if (slash != std::string_view::npos && looksLikeDomain(rest.substr(0, slash))) {
    ref.domain = std::string(rest.substr(0, slash));
    rest = rest.substr(slash + 1);
  } else {
    ref.domain = std::string(kDefaultDomain);
  }
  const auto colon = rest.rfind(':');
  if (colon != std::string_view::npos) {
    ref.tag = std::string(rest.substr(colon + 1));
    if (!validTag(ref.tag)) return invalid(name, "bad tag");
    rest = rest.substr(0, colon);
  }
  if (rest.empty() || rest.front() == '/' || rest.back() == '/' ||
      !std::all_of(rest.begin(), rest.end(), validPathChar)) {
    return invalid(name, "repository names must be lowercase letters, digits and . _ - /");
  }
  ref.path = std::string(rest);
  if (ref.domain == kDefaultDomain && ref.path.find('/') == std::string::npos) {
    ref.path = "library/" + ref.path;
  }
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = "latest";
  return ref;
}

std::string normalizeImageName(std::string_view name) {
  auto ref = parseImageReference(name);
  return ref.ok() ? ref->full() : std::string(name);
}

}  // namespace kd::node
