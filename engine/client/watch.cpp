#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "engine/client/api_client.h"
#include "engine/client/tls_transport.h"

namespace kd::client {

class Watch::Impl {
 public:
  Impl(std::shared_ptr<detail::ConnectionPool> pool, std::unique_ptr<detail::TlsConnection> conn,
       WatchHandlers handlers)
      : pool_(std::move(pool)), conn_(std::move(conn)), handlers_(std::move(handlers)) {}

  ~Impl() {
    cancel();
    // Destroying a watch from its own callback cannot join; the thread only touches this
    // object until the callback returns, which the contract in api_client.h forbids relying on.
    if (thread_.joinable()) thread_.detach();
  }

  void start() {
    thread_ =
        std::thread([this] { finish(conn_->pumpBody([this](std::string_view d) { onData(d); })); });
  }

  std::optional<WatchEvent> next(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [this] { return !queue_.empty() || ended_; });
    if (queue_.empty()) return std::nullopt;
    WatchEvent ev = std::move(queue_.front());
    queue_.pop_front();
    return ev;
  }

  bool ended() const {
    std::lock_guard lock(mu_);
    return ended_;
  }

  Status endStatus() const {
    std::lock_guard lock(mu_);
    return endStatus_;
  }

  void cancel() {
    if (!cancelled_.exchange(true)) conn_->cancel();
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
  }

 private:
  // Events are newline-delimited JSON documents; chunk boundaries fall anywhere.
  void onData(std::string_view data) {
    partial_.append(data);
    size_t start = 0;
    for (size_t nl; (nl = partial_.find('\n', start)) != std::string::npos; start = nl + 1) {
      deliverLine(std::string_view(partial_).substr(start, nl - start));
    }
    partial_.erase(0, start);
  }

  void deliverLine(std::string_view line) {
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) return;
    json doc = json::parse(line, nullptr, false);
    if (doc.is_discarded() || !doc.is_object() || !doc.contains("type")) {
      setEndStatus(Status::internal("the server sent an unparsable watch event"));
      return;
    }
    WatchEvent ev{doc["type"].is_string() ? doc["type"].get<std::string>() : std::string(),
                  std::move(doc["object"])};
    if (ev.type == "ERROR") {
      const int code = ev.object.is_object() && ev.object["code"].is_number_integer()
                           ? ev.object["code"].get<int>()
                           : 500;
      setEndStatus(statusFromResponse(code, ev.object.dump()));
    }
    if (cancelled_) return;
    if (handlers_.onEvent) {
      handlers_.onEvent(std::move(ev));
      return;
    }
    {
      std::lock_guard lock(mu_);
      queue_.push_back(std::move(ev));
    }
    cv_.notify_all();
  }

  void setEndStatus(Status st) {
    std::lock_guard lock(mu_);
    if (endStatus_.isOk()) endStatus_ = std::move(st);
  }

  void finish(Status st) {
    if (!partial_.empty()) deliverLine(partial_);  // a last event without its newline
    partial_.clear();
    if (!cancelled_) setEndStatus(std::move(st));
    Status final;
    {
      std::lock_guard lock(mu_);
      ended_ = true;
      final = endStatus_;
    }
    cv_.notify_all();
    if (!cancelled_ && handlers_.onClosed) handlers_.onClosed(final);
  }

  std::shared_ptr<detail::ConnectionPool> pool_;  // owns the TLS context the connection uses
  std::unique_ptr<detail::TlsConnection> conn_;
  WatchHandlers handlers_;
  std::thread thread_;
  std::atomic<bool> cancelled_{false};
  std::string partial_;  // watch thread only

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<WatchEvent> queue_;
  bool ended_ = false;
  Status endStatus_;
};

Watch::Watch(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Watch::~Watch() = default;
std::optional<WatchEvent> Watch::next(std::chrono::milliseconds timeout) {
  return impl_->next(timeout);
}
bool Watch::ended() const {
  return impl_->ended();
}
Status Watch::endStatus() const {
  return impl_->endStatus();
}
void Watch::cancel() {
  impl_->cancel();
}

namespace detail {

Result<std::unique_ptr<Watch>> startWatch(std::shared_ptr<ConnectionPool> pool,
                                          const RequestSpec& request, WatchHandlers handlers) {
  auto conn = pool->openDedicated();
  if (!conn) return conn.status();
  auto head = (*conn)->startStream(request);
  if (!head) return head.status();
  if (!head->ok()) return statusFromResponse(head->status, head->body);
  auto impl = std::make_unique<Watch::Impl>(std::move(pool), std::move(*conn), std::move(handlers));
  impl->start();
  return std::make_unique<Watch>(std::move(impl));
}

}  // namespace detail
}  // namespace kd::client
