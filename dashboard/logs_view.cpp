#include "dashboard/logs_view.h"

#include <QAction>
#include <QCheckBox>
#include <QComboBox>
#include <QFile>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QScrollBar>
#include <QTextBlock>
#include <QTextDocument>
#include <QToolButton>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>
#include <algorithm>
#include <functional>
#include <mutex>
#include <thread>

#include "dashboard/async_call.h"
#include "engine/api/object_key.h"
#include "engine/client/log_stream.h"

namespace kd::dashboard {

// The streams of one reading: one thread per stream, each cutting its data into whole lines
// (prefixed when several streams share the view) that wait in `pending_` for the GUI thread.
// Threads hold the feed alive; stop() cancels them and joins them on Qt's pool, which
// QCoreApplication waits for on exit.
class LogFeed : public std::enable_shared_from_this<LogFeed> {
 public:
  struct Source {
    std::string path;
    QString prefix;
  };
  struct Batch {
    QStringList lines;
    QStringList errors;
    int open = 0;
    bool more = false;  // lines are still waiting: take again soon
  };

  explicit LogFeed(std::function<void()> wake) : wake_(std::move(wake)) {}
  ~LogFeed() {
    for (auto& t : threads_) {
      if (t.joinable()) t.detach();  // only when stop() never ran; the thread owns the feed
    }
  }

  void start(const client::ApiClient& client, const std::vector<Source>& sources) {
    open_ = int(sources.size());
    for (const auto& s : sources) {
      streams_.push_back(std::make_unique<client::LogStream>(client, s.path));
      prefixes_.push_back(s.prefix);
    }
    for (size_t i = 0; i < sources.size(); ++i)
      threads_.emplace_back([self = shared_from_this(), i] { self->pump(i); });
  }

  // After stop() no wake reaches the view; the threads end soon.
  void stop() {
    {
      std::lock_guard lock(mu_);
      wake_ = nullptr;
    }
    for (auto& s : streams_) s->cancel();
    (void)QtConcurrent::run([threads = std::move(threads_)]() mutable {
      for (auto& t : threads) t.join();
    });
    threads_.clear();
  }

  // The oldest `maxLines` waiting lines, the errors and the count of open streams. While
  // lines remain, no wake is sent: the caller comes back for them.
  Batch take(qsizetype maxLines) {
    std::lock_guard lock(mu_);
    Batch b;
    if (pending_.size() <= maxLines) {
      b.lines = std::move(pending_);
      pending_.clear();
    } else {
      b.lines = pending_.first(maxLines);
      pending_.remove(0, maxLines);
      b.more = true;
    }
    wakeQueued_ = b.more;
    b.errors = std::move(errors_);
    errors_.clear();
    b.open = open_;
    return b;
  }

 private:
  void pump(size_t i) {
    std::string partial;
    const QString& prefix = prefixes_[i];
    const Status st = streams_[i]->run([&](std::string_view data) {
      partial.append(data);
      const size_t end = partial.rfind('\n');
      if (end == std::string::npos) return;
      QStringList lines = QString::fromUtf8(partial.data(), qsizetype(end)).split('\n');
      partial.erase(0, end + 1);
      if (!prefix.isEmpty()) {
        for (auto& l : lines) l.prepend(prefix);
      }
      deliver(std::move(lines), {}, false);
    });
    QStringList rest;
    if (!partial.empty()) rest << prefix + QString::fromStdString(partial);
    deliver(std::move(rest), st.isOk() ? QString() : prefix + QString::fromStdString(st.message()),
            true);
  }

  void deliver(QStringList lines, const QString& error, bool closed) {
    std::lock_guard lock(mu_);
    pending_.append(std::move(lines));
    // A GUI thread that cannot keep up loses the oldest lines, as the document would.
    if (pending_.size() > LogsView::kMaxLines)
      pending_.erase(pending_.begin(), pending_.end() - LogsView::kMaxLines);
    if (!error.isEmpty()) errors_ << error;
    if (closed) --open_;
    if (!wakeQueued_ && wake_) {
      wakeQueued_ = true;
      wake_();
    }
  }

  std::vector<std::unique_ptr<client::LogStream>> streams_;
  std::vector<QString> prefixes_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::function<void()> wake_;  // null once stopped
  bool wakeQueued_ = false;
  QStringList pending_;
  QStringList errors_;
  int open_ = 0;
};

namespace {

// Lines are appended at most every kBatchInterval, at most kBatchLines at a time, so that a
// burst of output never holds the GUI thread long.
constexpr int kBatchInterval = 30;  // ms
constexpr qsizetype kBatchLines = 2000;
const QString kAllContainers = QStringLiteral("*");

QString str(const std::string& s) {
  return QString::fromStdString(s);
}

// "1 pod", "3 pods".
QString count(int n, const QString& one, const QString& many) {
  return QStringLiteral("%1 %2").arg(n).arg(n == 1 ? one : many);
}

QString podName(const json& pod) {
  return str(api::metadataOf(pod).value("name", ""));
}

}  // namespace

LogsView::LogsView(std::shared_ptr<client::ApiClient> client, QWidget* parent)
    : QWidget(parent), client_(std::move(client)) {
  buildUi();
  batch_.setSingleShot(true);
  connect(&batch_, &QTimer::timeout, this, &LogsView::flush);
}

LogsView::~LogsView() {
  stopFeed();
}

void LogsView::buildUi() {
  title_ = new QLabel;
  containers_ = new QComboBox;
  containers_->setObjectName("container");
  containers_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
  auto box = [this](const QString& text, const char* name, bool checked) {
    auto* b = new QCheckBox(text, this);
    b->setObjectName(name);
    b->setChecked(checked);
    return b;
  };
  follow_ = box(tr("Follow"), "follow", true);
  previous_ = box(tr("Previous"), "previous", false);
  timestamps_ = box(tr("Timestamps"), "timestamps", false);
  wrap_ = box(tr("Wrap"), "wrap", false);
  search_ = new QLineEdit;
  search_->setObjectName("search");
  search_->setPlaceholderText(tr("Search"));
  search_->setClearButtonEnabled(true);
  matches_ = new QLabel;
  auto button = [this](const QString& text, const QString& tip, void (LogsView::*slot)()) {
    auto* b = new QToolButton;
    b->setText(text);
    b->setToolTip(tip);
    connect(b, &QToolButton::clicked, this, slot);
    return b;
  };
  text_ = new QPlainTextEdit;
  text_->setObjectName("logText");
  text_->setReadOnly(true);
  text_->setFont(QFont(QStringLiteral("monospace")));
  text_->setLineWrapMode(QPlainTextEdit::NoWrap);
  text_->setMaximumBlockCount(kMaxLines);
  text_->setUndoRedoEnabled(false);
  status_ = new QLabel;
  status_->setObjectName("logStatus");
  status_->setWordWrap(true);
  status_->setTextInteractionFlags(Qt::TextSelectableByMouse);

  auto* bar = new QHBoxLayout;
  bar->addWidget(title_);
  bar->addWidget(containers_);
  for (auto* b : {follow_, previous_, timestamps_, wrap_}) bar->addWidget(b);
  bar->addStretch();
  bar->addWidget(search_);
  bar->addWidget(matches_);
  bar->addWidget(
      button(QStringLiteral("▲"), tr("Previous match (Shift+F3)"), &LogsView::findPrevious));
  bar->addWidget(button(QStringLiteral("▼"), tr("Next match (F3)"), &LogsView::findNext));
  bar->addWidget(button(tr("Save…"), tr("Save what is shown to a file"), &LogsView::save));
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addLayout(bar);
  layout->addWidget(status_);
  layout->addWidget(text_);

  auto* next = new QAction(this);
  next->setShortcut(QKeySequence::FindNext);
  connect(next, &QAction::triggered, this, &LogsView::findNext);
  auto* prev = new QAction(this);
  prev->setShortcut(QKeySequence::FindPrevious);
  connect(prev, &QAction::triggered, this, &LogsView::findPrevious);
  for (auto* a : {next, prev}) a->setShortcutContext(Qt::WidgetWithChildrenShortcut);
  addActions({next, prev});

  connect(containers_, &QComboBox::currentIndexChanged, this, &LogsView::reload);
  connect(previous_, &QCheckBox::toggled, this, &LogsView::reload);
  connect(timestamps_, &QCheckBox::toggled, this, &LogsView::reload);
  connect(follow_, &QCheckBox::toggled, this, [this](bool on) {
    if (on) return reload();
    stopFeed();
    showState();
  });
  connect(wrap_, &QCheckBox::toggled, this, [this](bool on) {
    text_->setLineWrapMode(on ? QPlainTextEdit::WidgetWidth : QPlainTextEdit::NoWrap);
  });
  connect(search_, &QLineEdit::textChanged, this, &LogsView::highlightAll);
  connect(search_, &QLineEdit::returnPressed, this, &LogsView::findNext);
}

void LogsView::showPod(const json& pod) {
  selectorMode_ = false;
  target_ = "pod/" + podName(pod);
  setPods({pod});
}

void LogsView::showPodsOf(const api::KindInfo& kind, const json& object) {
  if (kind.kind == "Pod" && kind.group.empty()) return showPod(object);
  selectorMode_ = true;
  target_ = str(kind.kind).toLower() + "/" + podName(object);
  stopFeed();
  pods_.clear();
  text_->clear();
  title_->setText("<b>" + target_.toHtmlEscaped() + "</b>");
  status_->setText(tr("Listing the pods of %1…").arg(target_));
  std::shared_ptr<client::ApiClient> client = client_;
  const QString target = target_;
  runAsync<json>(
      this, [client, kind, object] { return client::podsSelectedBy(*client, kind, object); },
      [this, target](const Result<json>& pods) {
        if (target != target_) return;  // another target was chosen meanwhile
        if (!pods.ok()) {
          errors_ = QStringList{str(pods.status().message())};
          return showState();
        }
        setPods(std::vector<json>(pods->begin(), pods->end()));
      });
}

void LogsView::setPods(std::vector<json> pods) {
  pods_ = std::move(pods);
  title_->setText(
      "<b>" + target_.toHtmlEscaped() + "</b>" +
      (selectorMode_ ? " (" + count(int(pods_.size()), tr("pod"), tr("pods")) + ")" : QString()));
  fillContainerPicker();  // reloads
}

void LogsView::fillContainerPicker() {
  QStringList app, init;
  for (const auto& pod : pods_) {
    const auto c = client::containersOf(pod);
    for (const auto& n : c.app) {
      if (!app.contains(str(n))) app << str(n);
    }
    for (const auto& n : c.init) {
      if (!init.contains(str(n)) && !app.contains(str(n))) init << str(n);
    }
  }
  {
    const QSignalBlocker block(containers_);
    containers_->clear();
    for (const auto& n : app) containers_->addItem(n, n);
    for (const auto& n : init) containers_->addItem(tr("%1 (init)").arg(n), n);
    if (app.size() + init.size() > 1) containers_->addItem(tr("All containers"), kAllContainers);
    const int chosen =
        pods_.empty() ? -1 : containers_->findData(str(client::defaultContainer(pods_.front())));
    containers_->setCurrentIndex(std::max(chosen, 0));
  }
  reload();
}

void LogsView::reload() {
  stopFeed();
  text_->clear();
  marks_.clear();
  text_->setExtraSelections({});
  errors_.clear();
  if (pods_.empty()) {
    if (selectorMode_) errors_ << tr("No pods match the selector of %1.").arg(target_);
    return showState();
  }
  const QString chosen = containers_->currentData().toString();
  client::LogRequest request;
  request.follow = follow_->isChecked();
  request.previous = previous_->isChecked();
  request.timestamps = timestamps_->isChecked();
  request.tailLines = kMaxLines;
  std::vector<LogFeed::Source> sources;
  for (const auto& pod : pods_) {
    const auto c = client::containersOf(pod);
    std::vector<std::string> names;
    if (chosen == kAllContainers) {
      names = c.init;
      names.insert(names.end(), c.app.begin(), c.app.end());
    } else if (std::find(c.app.begin(), c.app.end(), chosen.toStdString()) != c.app.end() ||
               std::find(c.init.begin(), c.init.end(), chosen.toStdString()) != c.init.end()) {
      names = {chosen.toStdString()};
    }
    for (const auto& n : names) {
      request.container = n;
      sources.push_back({client::logPath(api::metadataOf(pod).value("namespace", ""),
                                         podName(pod).toStdString(), request),
                         "[pod/" + podName(pod) + "/" + str(n) + "] "});
    }
  }
  // One stream shows its lines as they are; several say whose each line is.
  if (sources.size() == 1 && !selectorMode_) sources[0].prefix.clear();
  feed_ = std::make_shared<LogFeed>(
      [this] { QMetaObject::invokeMethod(this, &LogsView::onFeedReady, Qt::QueuedConnection); });
  openStreams_ = int(sources.size());
  feed_->start(*client_, sources);
  showState();
}

void LogsView::stopFeed() {
  if (feed_) feed_->stop();
  feed_.reset();
  batch_.stop();
  openStreams_ = 0;
}

void LogsView::onFeedReady() {
  if (feed_ && !batch_.isActive()) batch_.start(kBatchInterval);
}

void LogsView::flush() {
  if (!feed_) return;
  LogFeed::Batch b = feed_->take(kBatchLines);
  const bool wasOpen = openStreams_ > 0;
  openStreams_ = b.open;
  errors_.append(b.errors);
  if (!b.lines.isEmpty()) {
    QScrollBar* bar = text_->verticalScrollBar();
    const bool atBottom = bar->value() >= bar->maximum();
    const QString added = b.lines.join('\n');
    text_->appendPlainText(added);
    // Counted from the end: appending may have dropped the oldest lines.
    markMatches(std::max(0, text_->document()->characterCount() - 1 - int(added.size())));
    if (atBottom) bar->setValue(bar->maximum());
    emit appended(int(b.lines.size()));
  }
  if (b.more) {
    batch_.start(0);
    openStreams_ = std::max(openStreams_, 1);  // not ended while lines still wait
  }
  showState();
  if (wasOpen && openStreams_ == 0) emit ended();
}

void LogsView::showState() {
  QString state;
  if (!errors_.isEmpty()) {
    status_->setStyleSheet(QStringLiteral("color: #c62828"));
    state = errors_.join('\n');
  } else {
    status_->setStyleSheet({});
    if (openStreams_ > 0) {
      state = (follow_->isChecked() ? tr("Following ") : tr("Reading ")) +
              count(openStreams_, tr("stream"), tr("streams"));
    } else if (!follow_->isChecked() && !pods_.empty()) {
      state = tr("Not following");
    } else if (!pods_.empty()) {
      state = tr("End of log");
    }
  }
  status_->setText(state);
}

QString LogsView::text() const {
  return text_->toPlainText();
}

bool LogsView::saveTo(const QString& path, QString* error) const {
  QFile file(path);
  if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate | QIODevice::Text)) {
    if (error) *error = file.errorString();
    return false;
  }
  QByteArray data = text().toUtf8();
  if (!data.isEmpty()) data.append('\n');
  if (file.write(data) != data.size() || !file.flush()) {
    if (error) *error = file.errorString();
    return false;
  }
  return true;
}

void LogsView::save() {
  const QString suggested = QString(target_).replace('/', '-') + ".log";
  const QString path = QFileDialog::getSaveFileName(this, tr("Save logs"), suggested);
  if (path.isEmpty()) return;
  QString error;
  if (!saveTo(path, &error)) {
    errors_ << tr("Could not save %1: %2").arg(path, error);
    showState();
  }
}

// Marks the matches of the search text from character `from` on, keeping the newest
// kMaxMarks; matches in lines the document dropped have collapsed and go too.
void LogsView::markMatches(int from) {
  marks_.erase(std::remove_if(marks_.begin(), marks_.end(),
                              [](const auto& m) { return !m.cursor.hasSelection(); }),
               marks_.end());
  const QString needle = search_->text();
  if (!needle.isEmpty()) {
    QTextCharFormat format;
    format.setBackground(QColor(255, 235, 59));
    format.setForeground(Qt::black);
    QTextDocument* doc = text_->document();
    QTextCursor c(doc);
    c.setPosition(from);
    while (!(c = doc->find(needle, c)).isNull()) marks_.append({c, format});
    if (marks_.size() > kMaxMarks) marks_.erase(marks_.begin(), marks_.end() - kMaxMarks);
  }
  text_->setExtraSelections(marks_);
  matches_->setText(needle.isEmpty() ? QString()
                                     : count(int(marks_.size()), tr("match"), tr("matches")));
}

void LogsView::highlightAll() {
  marks_.clear();
  markMatches(0);
}

void LogsView::findNext() {
  find(false);
}

void LogsView::findPrevious() {
  find(true);
}

// Selects the next (previous) match after (before) the cursor, wrapping around.
void LogsView::find(bool backward) {
  const QString needle = search_->text();
  if (needle.isEmpty()) return;
  const QTextDocument::FindFlags flags =
      backward ? QTextDocument::FindBackward : QTextDocument::FindFlags();
  QTextDocument* doc = text_->document();
  QTextCursor hit = doc->find(needle, text_->textCursor(), flags);
  if (hit.isNull()) {
    QTextCursor wrap(doc);
    if (backward) wrap.movePosition(QTextCursor::End);
    hit = doc->find(needle, wrap, flags);
  }
  if (hit.isNull()) return;
  text_->setTextCursor(hit);
  text_->ensureCursorVisible();
}

}  // namespace kd::dashboard
