#pragma once
// The agent's image endpoints: what `kdctl image load|pull|rm|ls` reach through the engine's
// node proxy (`/api/v1/nodes/<node>/proxy/images...`, carried over the reverse tunnel like
// the kubelet's streaming paths, streaming.h). The kubelet has no such API (minikube copies
// tarballs over ssh and runs `ctr import`); ours is a small REST surface of its own:
//
//   GET    /images                   {"images":[{"names":[...],"sizeBytes":N}, ...]}
//   POST   /images/load              body: an oci-archive or docker-archive tarball, any size
//                                    (streamed to the store's disk, never held in memory);
//                                    answers {"images":[names imported]}
//   POST   /images/pull?image=NAME   pulls as a pod would, anonymously; answers a chunked
//                                    stream of JSON lines: {"type":"progress","digest",
//                                    "current","total"} as blobs arrive, then {"type":"done",
//                                    "image","digest","sizeBytes","fetched","shared"} or
//                                    {"type":"error","status":<meta/v1 Status>}
//   DELETE /images?image=NAME        untags NAME and deletes what only it used; 409 Conflict
//                                    while a pod on this node uses the image, 404 when absent
//
// Errors before a response starts are meta/v1 Status objects. Every change calls
// `changed`, so the agent reports Node.status.images at once rather than at the next
// heartbeat.

#include <functional>
#include <string_view>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>

#include "engine/node/streaming.h"

namespace kd::node {

using ImagesRequestHeader = boost::beast::http::request_parser<boost::beast::http::empty_body>;

// True for the paths above ("/images", "/images/...", with or without a query).
bool isImagesPath(std::string_view target);

// Serves one request whose header is in `header` (its body, if any, not yet read: what
// follows it is in `buffer`, then on `stream`).
Status serveImages(TunnelStream& stream, boost::beast::flat_buffer& buffer,
                   ImagesRequestHeader& header, const StreamingContext& ctx);

}  // namespace kd::node
