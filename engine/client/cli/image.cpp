// kdctl image: the images the cluster's nodes hold, as their agents report them in
// Node.status.images (the kubelet's field, so `image ls` reads any cluster).

#include <map>
#include <ostream>
#include <set>

#include "engine/client/cli/commands.h"
#include "engine/client/cli/table_printer.h"

namespace kd::cli {

namespace {

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

}  // namespace

int runImage(Invocation& inv) {
  const std::string sub = inv.args.words.size() > 1 ? inv.args.words[1] : "";
  if (sub == "ls" || sub == "list") return imageList(inv);
  if (sub.empty()) return inv.usageError("kdctl image needs a command: ls");
  return inv.usageError("unknown command \"" + sub + "\" for \"kdctl image\" (available: ls)");
}

}  // namespace kd::cli
