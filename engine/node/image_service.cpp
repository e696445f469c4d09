#include "engine/node/image_service.h"

#include <boost/asio/write.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/http/file_body.hpp>
#include <chrono>
#include <fstream>
#include <limits>
#include <map>

#include "engine/node/image_puller.h"
#include "engine/node/image_ref.h"
#include "engine/node/image_store.h"
#include "engine/node/pod_worker.h"

namespace kd::node {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace fs = std::filesystem;

// Progress lines of one blob are sent at most this often (and when it completes).
constexpr auto kProgressPeriod = std::chrono::milliseconds(250);

struct ImagesRequest {
  std::string path;  // "/images", "/images/load", ...
  std::multimap<std::string, std::string> query;

  std::string param(const std::string& key) const {
    auto it = query.find(key);
    return it == query.end() ? std::string() : it->second;
  }
};

ImagesRequest parseImagesTarget(std::string_view target) {
  const size_t q = target.find('?');
  ImagesRequest r{std::string(target.substr(0, q)), {}};
  while (r.path.size() > 1 && r.path.back() == '/') r.path.pop_back();
  if (q != std::string_view::npos) r.query = parseQuery(target.substr(q + 1));
  return r;
}

json summaries(const ImageStore& store) {
  json images = json::array();
  for (const auto& s : store.list()) {
    images.push_back({{"names", s.names}, {"sizeBytes", s.sizeBytes}});
  }
  return images;
}

// The pod on this node whose containers use the image `manifestDigest`, as "ns/name"; "" if
// none. Pods are read from the files their workers keep (pod_worker.h), so a pod that was
// deleted from the API but still has containers here counts too.
std::string podUsing(const StreamingContext& ctx, const std::string& manifestDigest) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(ctx.stateDir / "pods", ec)) {
    std::ifstream in(entry.path() / "pod.json");
    const json pod = json::parse(in, nullptr, false);
    if (!pod.is_object()) continue;
    const json spec = pod.value("spec", json::object());
    for (const char* list : {"initContainers", "containers", "ephemeralContainers"}) {
      for (const auto& c : spec.value(list, json::array())) {
        auto image = ctx.images->find(c.value("image", ""));
        if (image.ok() && image->manifestDigest == manifestDigest) {
          const json meta = pod.value("metadata", json::object());
          return meta.value("namespace", "") + "/" + meta.value("name", "");
        }
      }
    }
  }
  return "";
}

Status loadImages(TunnelStream& stream, beast::flat_buffer& buffer, ImagesRequestHeader& header,
                  const StreamingContext& ctx) {
  auto file = ctx.images->createTempFile();
  if (!file.ok()) return file.status();
  struct Remove {
    fs::path path;
    ~Remove() {
      std::error_code ec;
      fs::remove(path, ec);
    }
  } remove{*file};
  http::request_parser<http::file_body> body{std::move(header)};
  body.body_limit(std::numeric_limits<std::uint64_t>::max());  // images go to disk
  beast::error_code ec;
  body.get().body().open(file->c_str(), beast::file_mode::write, ec);
  if (ec) return Status::internal("open " + file->string() + ": " + ec.message());
  http::read(stream, buffer, body, ec);
  if (ec) return Status::badRequest("the image tarball did not arrive whole: " + ec.message());
  body.get().body().close();
  Result<std::vector<std::string>> names = std::vector<std::string>{};
  {
    auto writes = lockImageStoreWrites();
    names = ctx.images->importArchive(*file);
  }
  if (!names.ok() && names.status().code() == 500) {  // tar could not read it
    return Status::badRequest(
        "the upload is not an image tarball (docker save, or skopeo copy to "
        "docker-archive: or oci-archive:): " +
        names.status().message());
  }
  if (!names.ok()) return names.status();
  if (names->empty()) {
    return Status::badRequest(
        "the tarball holds no tagged image (docker save NAME:TAG, or "
        "an oci-archive with an image name annotation)");
  }
  if (ctx.imagesChanged) ctx.imagesChanged();
  writeJson(stream, 200, {{"images", *names}});
  return {};
}

Status pull(TunnelStream& stream, const ImagesRequest& r, const StreamingContext& ctx) {
  const std::string name = r.param("image");
  if (name.empty()) return Status::badRequest("pull needs ?image=NAME");
  if (auto ref = parseImageReference(name); !ref.ok()) return ref.status();
  http::response<http::empty_body> res{http::status::ok, 11};
  res.set(http::field::content_type, "application/json");
  res.keep_alive(false);
  res.chunked(true);
  http::response_serializer<http::empty_body> serializer{res};
  beast::error_code ec;
  http::write_header(stream, serializer, ec);
  if (ec) return {};
  auto send = [&](const json& line) {
    if (ec) return;
    const std::string text = line.dump() + "\n";
    net::write(stream, http::make_chunk(net::buffer(text)), ec);
  };
  std::map<std::string, std::chrono::steady_clock::time_point> lastSent;
  RegistryOptions options;
  options.userAgent = "kubedesk-node (kdctl image pull)";
  auto report = pullImage(
      *ctx.images, name, options, [&](const std::string& digest, uint64_t current, uint64_t total) {
        const auto now = std::chrono::steady_clock::now();
        auto& last = lastSent[digest];
        if (current < total && now - last < kProgressPeriod) return;
        last = now;
        send({{"type", "progress"}, {"digest", digest}, {"current", current}, {"total", total}});
      });
  if (report.ok()) {
    if (ctx.imagesChanged) ctx.imagesChanged();
    send({{"type", "done"},
          {"image", normalizeImageName(name)},
          {"digest", report->manifestDigest},
          {"sizeBytes", report->imageSize},
          {"fetched", report->blobsFetched},
          {"shared", report->blobsShared}});
  } else {
    send({{"type", "error"}, {"status", report.status().toJson()}});
  }
  if (!ec) net::write(stream, http::make_chunk_last(), ec);
  return {};
}

Status removeImage(TunnelStream& stream, const ImagesRequest& r, const StreamingContext& ctx) {
  const std::string name = r.param("image");
  if (name.empty()) return Status::badRequest("remove needs ?image=NAME");
  auto writes = lockImageStoreWrites();
  auto image = ctx.images->find(name);
  if (!image.ok()) return image.status();
  if (const std::string pod = podUsing(ctx, image->manifestDigest); !pod.empty()) {
    return Status::conflict("image \"" + image->name + "\" is in use by pod " + pod +
                            " on this node; delete the pod first");
  }
  if (Status s = ctx.images->removeImage(name); !s.isOk()) return s;
  writes.unlock();
  if (ctx.imagesChanged) ctx.imagesChanged();
  writeJson(stream, 200, {{"removed", json::array({image->name})}});
  return {};
}

}  // namespace

bool isImagesPath(std::string_view target) {
  return target == "/images" || target.starts_with("/images/") || target.starts_with("/images?");
}

Status serveImages(TunnelStream& stream, beast::flat_buffer& buffer, ImagesRequestHeader& header,
                   const StreamingContext& ctx) {
  if (!ctx.images) return Status::serviceUnavailable("this node agent has no image store");
  const auto target = header.get().target();
  const ImagesRequest r = parseImagesTarget({target.data(), target.size()});
  const http::verb verb = header.get().method();
  if (r.path == "/images/load" && verb == http::verb::post) {
    return loadImages(stream, buffer, header, ctx);
  }
  if (r.path == "/images/pull" && verb == http::verb::post) return pull(stream, r, ctx);
  if (r.path == "/images" && verb == http::verb::delete_) return removeImage(stream, r, ctx);
  if (r.path == "/images" && verb == http::verb::get) {
    writeJson(stream, 200, {{"images", summaries(*ctx.images)}});
    return {};
  }
  if (r.path == "/images" || r.path == "/images/load" || r.path == "/images/pull") {
    return Status::methodNotAllowed(std::string(header.get().method_string()) +
                                    " is not served on " + r.path);
  }
  return Status::notFound("no such image endpoint: " + r.path);
}

}  // namespace kd::node
