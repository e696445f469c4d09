#pragma once
// The agent's streaming server: what the kubelet serves for `kubectl logs`, `exec`, `attach`
// and `port-forward`, one request per tunnel stream (tunnel.h). The engine has already
// authenticated and authorized the client, chosen the container, and rewritten the request to
// a kubelet path that carries the pod's uid:
//
//   GET /containerLogs/<ns>/<pod>/<uid>/<container>?follow&previous&tailLines&sinceSeconds
//       &sinceTime&timestamps&limitBytes            chunked text/plain, as the kubelet answers
//   GET|POST /exec/<ns>/<pod>/<uid>/<container>?command=..&stdin&stdout&stderr&tty
//   GET|POST /attach/<ns>/<pod>/<uid>/<container>?stdin&stdout&stderr&tty
//   GET|POST /portForward/<ns>/<pod>/<uid>       (WebSocket-tunnelled SPDY, or SPDY/3.1)
//
// exec and attach speak Kubernetes' remote-command protocol over WebSocket
// (v5.channel.k8s.io, v4; kubectl 1.30+) or SPDY/3.1 (v4.channel.k8s.io, v3, v2; kubectl 1.29
// and older), remote_command.h: stdin, stdout, stderr, the error channel (a meta/v1 Status,
// with the exit code as kubectl expects) and terminal resizes ({"Width","Height"}). Attach
// joins the container's stdio through its shim's attach socket (container_io.h): output from
// now on, input to the container's stdin (a pipe, or its terminal for `tty: true`), terminal
// resizes; it ends with a Success Status when the container ends, and leaving it leaves the
// container running (unless `stdinOnce`, which closes its stdin).
// port-forward is served by port_forward.h, into the pod's network namespace (the node's
// for a hostNetwork pod). Failures before an upgrade are answered as meta/v1 Status objects.
//
// Containers are found from the files the pod worker and the shim write (pod_worker.h,
// shim.h); nothing here asks the API server.

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "engine/node/runtime.h"

namespace kd::node {

using TunnelStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

class ImageStore;

struct StreamingContext {
  const OciRuntime* runtime = nullptr;
  std::filesystem::path stateDir;
  ImageStore* images = nullptr;         // for the image endpoints (image_service.h)
  std::function<void()> imagesChanged;  // called after an image was added or removed
};

// A query string ("a=1&b=x%20y", without the '?') as decoded pairs, repeated keys kept.
std::multimap<std::string, std::string> parseQuery(std::string_view query);

// Writes a whole JSON response with status `code` (the connection closes after it).
void writeJson(TunnelStream& stream, int code, const json& body);

// Reads one request from `stream`, serves it and closes the stream. Runs `ioc`, the stream's
// io_context, on the calling thread until the exchange is over.
void serveStream(boost::asio::io_context& ioc, TunnelStream stream, const StreamingContext& ctx);

}  // namespace kd::node
