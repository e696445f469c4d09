#include "engine/controllers/informer.h"

#include <future>

namespace kd::controllers {
namespace {

constexpr auto kRetryDelay = std::chrono::seconds(1);

constexpr std::string_view kLastApplied = "kubectl.kubernetes.io/last-applied-configuration";

// The last-applied annotation repeats the whole object; a metadata view has no use for it.
json withoutBulkyMetadata(json view) {
  if (auto meta = view.find("metadata"); meta != view.end() && meta->is_object()) {
    if (auto ann = meta->find("annotations"); ann != meta->end() && ann->is_object()) {
      ann->erase(std::string(kLastApplied));
      if (ann->empty()) meta->erase(ann);
    }
  }
  return view;
}

// Parses only what InformerView::Metadata keeps: everything else is tokenized but never built
// into a DOM, which is most of the cost of a full parse.
json metadataView(const std::string& text) {
  auto keep = [](int depth, json::parse_event_t event, json& parsed) {
    if (event != json::parse_event_t::key) return true;
    const auto& key = parsed.get_ref<const std::string&>();
    if (depth == 1) return key == "apiVersion" || key == "kind" || key == "metadata";
    // Only metadata survives at depth 1 with objects below it.
    return depth != 2 || key != "managedFields";
  };
  return withoutBulkyMetadata(json::parse(text, keep));
}

json metadataView(const json& object) {
  json view = json::object();
  for (const char* field : {"apiVersion", "kind", "metadata"}) {
    if (auto it = object.find(field); it != object.end()) view[field] = *it;
  }
  if (auto meta = view.find("metadata"); meta != view.end() && meta->is_object()) {
    meta->erase("managedFields");
  }
  return withoutBulkyMetadata(std::move(view));
}

}  // namespace

struct Informer::Wakeup {
  std::mutex mu;
  std::condition_variable cv;
  bool signaled = false;
  bool stopping = false;

  void signal() {
    {
      std::lock_guard lock(mu);
      signaled = true;
    }
    cv.notify_all();
  }
};

Informer::Informer(server::ObjectService& objects, const api::KindInfo& kind,
                   std::chrono::milliseconds watchTimeout, InformerView view)
    : objects_(objects),
      kind_(kind),
      watchTimeout_(watchTimeout),
      view_(view),
      wakeup_(std::make_shared<Wakeup>()) {}

Informer::~Informer() {
  stop();
}

void Informer::addHandlers(EventHandlers handlers) {
  cache_.addHandlers(std::move(handlers));
}

void Informer::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
}

void Informer::stop() {
  {
    std::lock_guard lock(wakeup_->mu);
    wakeup_->stopping = true;
  }
  wakeup_->cv.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Informer::hasSynced() const {
  std::lock_guard lock(syncMu_);
  return synced_;
}

bool Informer::waitForSync(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(syncMu_);
  return syncCv_.wait_for(lock, timeout, [this] { return synced_; });
}

int Informer::listCount() const {
  std::lock_guard lock(syncMu_);
  return lists_;
}

CachedObject Informer::get(std::string_view key) const {
  return cache_.get(key);
}

CachedObject Informer::get(std::string_view ns, std::string_view name) const {
  return get(objectKey(kind_.namespaced ? ns : "", name));
}

std::vector<CachedObject> Informer::list() const {
  return list("");
}

std::vector<CachedObject> Informer::list(std::string_view ns) const {
  return cache_.list(ns);
}

bool Informer::waitForWork(std::chrono::milliseconds max) {
  std::unique_lock lock(wakeup_->mu);
  wakeup_->cv.wait_for(lock, max, [this] { return wakeup_->signaled || wakeup_->stopping; });
  wakeup_->signaled = false;
  return !wakeup_->stopping;
}

void Informer::run() {
  int64_t revision = 0;
  bool needList = true;
  for (;;) {
    {
      std::lock_guard lock(wakeup_->mu);
      if (wakeup_->stopping) return;
    }
    if (needList) {
      auto listed = relist();
      if (!listed.ok()) {
        if (!waitForWork(kRetryDelay)) return;
        continue;
      }
      revision = *listed;
      needList = false;
    }
    needList = !watchFrom(revision);
  }
}

Result<int64_t> Informer::relist() {
  auto listed = objects_.list(kind_, "", {});
  if (!listed.ok()) return listed.status();
  const auto& items = listed->items;
  // Parsing is nearly all of a big list's cost and nothing can run on the cache until it is
  // done (controllers wait for the sync): a second thread parses half of a big list.
  constexpr size_t kSplitListAt = 2000;
  std::vector<CachedObject> parsed(items.size());
  auto parse = [&](size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) parsed[i] = cached(*items[i]);
  };
  if (items.size() >= kSplitListAt) {
    // A parse error on either half reaches the caller as it would on one thread (the
    // future's destructor waits for the other half before `parsed` goes).
    auto secondHalf = std::async(std::launch::async, parse, items.size() / 2, items.size());
    parse(0, items.size() / 2);
    secondHalf.get();
  } else {
    parse(0, items.size());
  }
  std::unordered_map<std::string, CachedObject> fresh;
  fresh.reserve(parsed.size());
  for (auto& obj : parsed) fresh.emplace(objectKey(*obj), std::move(obj));
  cache_.replace(std::move(fresh));
  {
    std::lock_guard lock(syncMu_);
    synced_ = true;
    ++lists_;
  }
  syncCv_.notify_all();
  return listed->revision;
}

bool Informer::watchFrom(int64_t& revision) {
  server::WatchOptions options;
  // "0" would mean "from now, with the current state first": fine for an empty store too.
  options.resourceVersion = std::to_string(revision);
  options.parsedObjects = true;
  std::weak_ptr<Wakeup> wakeup = wakeup_;
  auto stream = objects_.watch(kind_, "", options, [wakeup] {
    if (auto w = wakeup.lock()) w->signal();
  });
  if (!stream.ok()) {
    if (stream.status().code() == 410) return false;
    waitForWork(kRetryDelay);
    return true;
  }
  const auto deadline = std::chrono::steady_clock::now() + watchTimeout_;
  std::vector<server::WatchEvent> events;
  for (bool open = true; open;) {
    events.clear();
    open = (*stream)->next(events);
    for (const auto& e : events) {
      if (e.type == "ERROR") return e.errorStatus.value("code", 0) != 410;
      apply(e);
    }
    revision = std::max(revision, (*stream)->lastRevision());
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (open && left <= std::chrono::milliseconds(0)) return true;
    // A closed stream is resumed at once, but never in a tight loop.
    if (!waitForWork(open ? left : std::chrono::milliseconds(10))) return true;
  }
  return true;
}

void Informer::apply(const server::WatchEvent& event) {
  if (!event.object) return;  // BOOKMARK
  CachedObject obj;
  if (!event.parsed) {
    obj = cached(*event.object);
  } else if (view_ == InformerView::Metadata) {
    obj = std::make_shared<const json>(metadataView(*event.parsed));
  } else {
    obj = event.parsed;
  }
  if (event.type == "DELETED") {
    cache_.erase(objectKey(*obj), obj);
  } else {
    cache_.upsert(obj);
  }
}

CachedObject Informer::cached(const store::StoredObject& stored) const {
  if (view_ == InformerView::Metadata)
    return std::make_shared<const json>(metadataView(stored.json));
  return std::make_shared<const json>(stored.parse());
}

}  // namespace kd::controllers
