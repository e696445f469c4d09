#include "engine/client/cli/manifests.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "engine/api/yaml_json.h"

namespace kd::cli {

namespace fs = std::filesystem;

namespace {

bool isManifestFile(const fs::path& p) {
  const auto ext = p.extension();
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

Status addDocuments(const std::string& source, const std::string& text,
                    std::vector<Manifest>& out) {
  auto docs = api::parseYamlDocuments(text);
  if (!docs.ok()) {
    return Status::badRequest("error parsing " + source + ": " + docs.status().message());
  }
  for (auto& doc : *docs) {
    if (doc.is_null()) continue;
    if (doc.value("kind", "") == "List" || doc.value("kind", "").ends_with("List")) {
      for (auto& item : doc.value("items", json::array())) out.push_back({source, item});
      continue;
    }
    if (!doc.is_object() || !doc.contains("kind") || !doc.contains("apiVersion")) {
      return Status::badRequest("error validating \"" + source +
                                "\": error validating data: apiVersion or kind not set");
    }
    out.push_back({source, std::move(doc)});
  }
  return Status::ok();
}

Status addFile(const fs::path& path, std::vector<Manifest>& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::notFound("the path \"" + path.string() + "\" does not exist");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return addDocuments(path.string(), text, out);
}

Status addDirectory(const fs::path& dir, bool recursive, std::vector<Manifest>& out) {
  std::vector<fs::path> files;
  std::error_code ec;
  auto collect = [&](const fs::directory_entry& e) {
    if (e.is_regular_file() && isManifestFile(e.path())) files.push_back(e.path());
  };
  if (recursive) {
    for (const auto& e : fs::recursive_directory_iterator(dir, ec)) collect(e);
  } else {
    for (const auto& e : fs::directory_iterator(dir, ec)) collect(e);
  }
  if (ec) return Status::badRequest(dir.string() + ": " + ec.message());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    if (Status st = addFile(f, out); !st.isOk()) return st;
  }
  return Status::ok();
}

}  // namespace

Result<std::vector<Manifest>> loadManifests(const std::vector<std::string>& filenames,
                                            bool recursive, std::istream& stdinStream) {
  std::vector<Manifest> out;
  for (const auto& name : filenames) {
    Status st;
    if (name == "-") {
      std::stringstream buf;
      buf << stdinStream.rdbuf();
      st = addDocuments("STDIN", buf.str(), out);
    } else if (fs::is_directory(name)) {
      st = addDirectory(name, recursive, out);
    } else if (!fs::exists(name)) {
      st = Status::notFound("the path \"" + name + "\" does not exist");
    } else {
      st = addFile(name, out);
    }
    if (!st.isOk()) return st;
  }
  if (out.empty()) return Status::badRequest("no objects passed to apply");
  return out;
}

}  // namespace kd::cli
