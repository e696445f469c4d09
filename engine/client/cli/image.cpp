// kdctl image: the images the cluster's nodes hold, as their agents report them in
// Node.status.images (the kubelet's field, so `image ls` reads any cluster).

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <ostream>
#include <set>

#include "engine/api/percent_encoding.h"
#include "engine/client/cli/commands.h"
#include "engine/client/cli/table_printer.h"

namespace kd::cli {

namespace {

namespace fs = std::filesystem;

struct ImageRow {
  std::string digest;  // "sha256:..." from the repo digest, "" when the node gave none
  int64_t sizeBytes = 0;
  std::set<std::string> nodes;
};

// "docker.io/library/busybox:latest" -> {"docker.io/library/busybox", "latest"}; a name
// without a tag (a repo digest) gives an empty tag.
std::pair<std::string, std::string> splitTag(const std::string& name) {
  const size_t slash = name.rfind('/');
  const size_t colon = name.rfind(':');
  if (name.find('@') != std::string::npos || colon == std::string::npos ||
      (slash != std::string::npos && colon < slash)) {
    return {name, ""};
  }
  return {name.substr(0, colon), name.substr(colon + 1)};
}

// "4.3MB" as minikube and docker print sizes (decimal units).
std::string decimalSize(int64_t bytes) {
  static const char* const kUnits[] = {"B", "kB", "MB", "GB", "TB"};
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1000 && unit + 1 < std::size(kUnits)) {
    value /= 1000;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f%s" : "%.3g%s", value, kUnits[unit]);
  return text;
}

// Tagged name -> what the nodes say about it.
Result<std::map<std::string, ImageRow>> clusterImages(Invocation& inv) {
  auto c = inv.client();
  if (!c.ok()) return c.status();
  auto nodes = (*c)->list(*api::KindsRegistry::builtin().resolve("nodes"), "");
  if (!nodes.ok()) return nodes.status();
  std::map<std::string, ImageRow> rows;
  for (const json& node : nodes->value("items", json::array())) {
    const std::string nodeName = node["metadata"].value("name", "");
    for (const json& image : node.value("status", json::object()).value("images", json::array())) {
      std::string digest;
      std::vector<std::string> tagged;
      for (const json& name : image.value("names", json::array())) {
        const std::string text = name.get<std::string>();
        if (const size_t at = text.find('@'); at != std::string::npos) {
          digest = text.substr(at + 1);
        } else {
          tagged.push_back(text);
        }
      }
      for (const auto& name : tagged) {
        ImageRow& row = rows[name];
        row.digest = digest;
        row.sizeBytes = image.value("sizeBytes", int64_t{0});
        row.nodes.insert(nodeName);
      }
    }
  }
  return rows;
}

int imageList(Invocation& inv) {
  const std::string format = inv.args.value("format", "short");
  if (format != "short" && format != "table") {
    return inv.usageError("--format must be short or table, not \"" + format + "\"");
  }
  auto rows = clusterImages(inv);
  if (!rows.ok()) return inv.fail(rows.status());
  if (format == "short") {
    for (const auto& [name, row] : *rows) inv.out << name << "\n";
    return 0;
  }
  TabWriter table;
  table.addRow({"IMAGE", "TAG", "IMAGE ID", "SIZE", "NODES"});
  for (const auto& [name, row] : *rows) {
    auto [repository, tag] = splitTag(name);
    const std::string id = row.digest.substr(row.digest.find(':') + 1, 12);
    table.addRow({repository, tag.empty() ? "<none>" : tag, id.empty() ? "<none>" : id,
                  decimalSize(row.sizeBytes), std::to_string(row.nodes.size())});
  }
  inv.out << table.flush();
  return 0;
}

// --- load, pull, rm: through each node's agent (nodes/<node>/proxy/images, served by
// engine/node/image_service.h) ----------------------------------------------------------------

// The nodes a change goes to: --node, else every node of the cluster.
Result<std::vector<std::string>> targetNodes(Invocation& inv) {
  auto c = inv.client();
  if (!c.ok()) return c.status();
  auto nodes = (*c)->list(*api::KindsRegistry::builtin().resolve("nodes"), "");
  if (!nodes.ok()) return nodes.status();
  std::vector<std::string> names;
  for (const json& node : nodes->value("items", json::array())) {
    names.push_back(node["metadata"].value("name", ""));
  }
  if (inv.args.has("node")) {
    const std::string wanted = inv.args.value("node");
    if (std::find(names.begin(), names.end(), wanted) == names.end()) {
      return Status::notFound("nodes \"" + wanted + "\" not found");
    }
    return std::vector<std::string>{wanted};
  }
  if (names.empty()) return Status::notFound("the cluster has no nodes: run \"kdctl start\"");
  return names;
}

std::string imagesPath(const std::string& node, const std::string& rest) {
  return "/api/v1/nodes/" + api::percentEncode(node) + "/proxy/images" + rest;
}

// "10% 20% ..." as bytes arrive: a line that reads well in a terminal and in a log.
class PercentLine {
 public:
  PercentLine(std::ostream& out, uint64_t total) : out_(out), total_(total) {}
  void update(uint64_t done) {
    if (total_ == 0) return;
    const int percent = static_cast<int>(done * 100 / total_);
    while (shown_ + 10 <= percent && shown_ < 90) {
      shown_ += 10;
      out_ << " " << shown_ << "%" << std::flush;
    }
  }

 private:
  std::ostream& out_;
  uint64_t total_;
  int shown_ = 0;
};

int imageLoad(Invocation& inv) {
  if (inv.args.words.size() != 3) {
    return inv.usageError(
        "kdctl image load needs one tarball (docker save / skopeo copy "
        "docker-archive: or oci-archive:), or - for standard input");
  }
  std::string file = inv.args.words[2];
  // Standard input is read once into a file: each node gets the same bytes, with a length.
  std::unique_ptr<fs::path, void (*)(fs::path*)> spooled(nullptr, [](fs::path* p) {
    std::error_code ec;
    fs::remove(*p, ec);
    delete p;
  });
  if (file == "-") {
    char pattern[] = "/tmp/kdctl-image-XXXXXX";
    const int fd = ::mkstemp(pattern);
    if (fd < 0)
      return inv.usageError(std::string("cannot spool standard input: ") + strerror(errno));
    ::close(fd);
    spooled.reset(new fs::path(pattern));
    std::ofstream(pattern, std::ios::binary) << inv.in.rdbuf();
    file = pattern;
  }
  std::error_code ec;
  const auto size = fs::file_size(file, ec);
  if (ec || !fs::is_regular_file(file)) {
    return inv.usageError("cannot read " + inv.args.words[2] + ": " +
                          (ec ? ec.message() : "not a file"));
  }
  auto nodes = targetNodes(inv);
  if (!nodes.ok()) return inv.fail(nodes.status());
  int failures = 0;
  for (const auto& node : *nodes) {
    std::ifstream in(file, std::ios::binary);
    inv.out << "📦  Loading " << fs::path(inv.args.words[2]).filename().string() << " ("
            << decimalSize(static_cast<int64_t>(size)) << ") onto " << node << ":" << std::flush;
    PercentLine percent(inv.out, size);
    auto r = (*inv.client())
                 ->upload("POST", imagesPath(node, "/load"), in, size, "application/x-tar",
                          [&](uint64_t sent) { percent.update(sent); });
    if (r.ok() && r->ok()) {
      const json body = json::parse(r->body, nullptr, false);
      std::string names;
      for (const auto& n : body.is_object() ? body.value("images", json::array()) : json::array()) {
        names += (names.empty() ? "" : ", ") + n.get<std::string>();
      }
      inv.out << " done: " << names << "\n";
      continue;
    }
    inv.out << " failed\n";
    ++failures;
    inv.fail(r.ok() ? client::statusFromResponse(r->status, r->body) : r.status());
  }
  return failures == 0 ? 0 : 1;
}

int imagePull(Invocation& inv) {
  if (inv.args.words.size() != 3) return inv.usageError("kdctl image pull needs one image name");
  const std::string image = inv.args.words[2];
  auto nodes = targetNodes(inv);
  if (!nodes.ok()) return inv.fail(nodes.status());
  int failures = 0;
  for (const auto& node : *nodes) {
    inv.out << "⬇️   Pulling " << image << " on " << node << ":" << std::flush;
    std::map<std::string, std::pair<uint64_t, uint64_t>> blobs;  // digest -> (current, total)
    uint64_t lastShown = 0;
    std::string pending;
    json outcome;
    const Status streamed =
        (*inv.client())
            ->streamRequest(
                "POST", imagesPath(node, "/pull?image=" + api::percentEncode(image)),
                [&](std::string_view data) {
                  pending.append(data);
                  for (size_t nl; (nl = pending.find('\n')) != std::string::npos;) {
                    const json line = json::parse(pending.substr(0, nl), nullptr, false);
                    pending.erase(0, nl + 1);
                    if (!line.is_object()) continue;
                    if (line.value("type", "") != "progress") {
                      outcome = line;
                      continue;
                    }
                    blobs[line.value("digest", "")] = {line.value("current", uint64_t{0}),
                                                       line.value("total", uint64_t{0})};
                    uint64_t current = 0, total = 0;
                    for (const auto& [digest, bytes] : blobs) {
                      current += bytes.first;
                      total += bytes.second;
                    }
                    // A line per megabyte (or so) of progress: "1.2MB/4.3MB".
                    if (current - lastShown >= 1'000'000 || current == total) {
                      lastShown = current;
                      inv.out << " " << decimalSize(static_cast<int64_t>(current)) << "/"
                              << decimalSize(static_cast<int64_t>(total)) << std::flush;
                    }
                  }
                },
                "application/json");
    if (streamed.isOk() && outcome.value("type", "") == "done") {
      inv.out << " done: " << outcome.value("image", "") << " ("
              << outcome.value("digest", "").substr(0, 19) << ", "
              << decimalSize(outcome.value("sizeBytes", int64_t{0})) << ")\n";
      continue;
    }
    inv.out << " failed\n";
    ++failures;
    if (!streamed.isOk()) {
      inv.fail(streamed);
    } else if (outcome.contains("status")) {
      inv.fail(client::statusFromResponse(outcome["status"].value("code", 500),
                                          outcome["status"].dump()));
    } else {
      inv.fail(Status::internal("the node's answer ended without an outcome"));
    }
  }
  return failures == 0 ? 0 : 1;
}

int imageRemove(Invocation& inv) {
  if (inv.args.words.size() < 3) return inv.usageError("kdctl image rm needs an image name");
  auto nodes = targetNodes(inv);
  if (!nodes.ok()) return inv.fail(nodes.status());
  int failures = 0;
  for (size_t i = 2; i < inv.args.words.size(); ++i) {
    const std::string& image = inv.args.words[i];
    int removed = 0;
    std::vector<Status> refusals;
    for (const auto& node : *nodes) {
      auto r = (*inv.client())
                   ->request("DELETE", imagesPath(node, "?image=" + api::percentEncode(image)));
      if (r.ok() && r->ok()) {
        inv.out << "🔥  Removed " << image << " from " << node << "\n";
        ++removed;
        continue;
      }
      const Status s = r.ok() ? client::statusFromResponse(r->status, r->body) : r.status();
      if (s.code() != 404) refusals.push_back(s);  // absent from this node: nothing to do
    }
    for (const auto& s : refusals) inv.fail(s);
    if (removed == 0 && refusals.empty()) {
      inv.fail(Status::notFound("image \"" + image + "\" is on none of the cluster's nodes"));
    }
    if (!refusals.empty() || removed == 0) ++failures;
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace

int runImage(Invocation& inv) {
  const std::string sub = inv.args.words.size() > 1 ? inv.args.words[1] : "";
  if (sub == "ls" || sub == "list") return imageList(inv);
  if (sub == "load") return imageLoad(inv);
  if (sub == "pull") return imagePull(inv);
  if (sub == "rm" || sub == "remove") return imageRemove(inv);
  if (sub.empty()) return inv.usageError("kdctl image needs a command: load, ls, pull or rm");
  return inv.usageError("unknown command \"" + sub +
                        "\" for \"kdctl image\" (available: load, ls, pull, rm)");
}

}  // namespace kd::cli
