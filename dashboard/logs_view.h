#pragma once
// LogsView: the container logs of one pod, or of every pod a workload's selector reaches
// (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, Service), interleaved as they arrive
// with each line prefixed "[pod/NAME/CONTAINER] " as `kubectl logs -l ... --prefix` does.
//
// Controls: follow (live), container picker (init and app containers, or all), previous
// instance, timestamps, wrap, search with highlighted matches and next/previous, save to file.
// Changing the container, previous or timestamps reads the logs again from the start; turning
// follow off stops reading and keeps what is shown.
//
// Threading: each log stream is read on a thread of its own (a followed stream never ends, so
// it must not hold a thread of Qt's pool); lines reach the GUI thread in batches at most every
// 30 ms. The document keeps the last kMaxLines lines and stays scrolled to the bottom only when
// the reader was at the bottom. A refused request (pod not running, no previous instance) is
// shown with the server's Status message. Construct, use and destroy on the GUI thread.

#include <QList>
#include <QTextEdit>
#include <QTimer>
#include <QWidget>
#include <memory>
#include <vector>

#include "engine/api/kinds.h"
#include "engine/api/status.h"
#include "engine/client/api_client.h"

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;

namespace kd::dashboard {

class LogFeed;

class LogsView : public QWidget {
  Q_OBJECT

 public:
  static constexpr int kMaxLines = 50'000;
  static constexpr int kMaxMarks = 10'000;  // highlighted matches kept (the newest)

  // `client`: ClusterSession::clientPtr(); the view's calls and streams hold it.
  explicit LogsView(std::shared_ptr<client::ApiClient> client, QWidget* parent = nullptr);
  ~LogsView() override;

  // Shows the logs of `pod` (its default container first) and starts reading at once.
  void showPod(const json& pod);
  // Shows the logs of every pod that `object` of `kind` selects; the pods are listed off the
  // GUI thread, then reading starts. A Pod shows itself.
  void showPodsOf(const api::KindInfo& kind, const json& object);

  // "pod/web-1", "deployment/web".
  QString target() const { return target_; }
  // What is shown, one line per log line.
  QString text() const;
  // Streams still being read.
  int openStreams() const { return openStreams_; }
  // Matches of the search text currently highlighted.
  int matchCount() const { return int(marks_.size()); }
  // Writes what is shown to `path`; false with the reason in `error`.
  bool saveTo(const QString& path, QString* error = nullptr) const;

  QComboBox* containerPicker() const { return containers_; }
  QCheckBox* followBox() const { return follow_; }
  QCheckBox* previousBox() const { return previous_; }
  QCheckBox* timestampsBox() const { return timestamps_; }
  QCheckBox* wrapBox() const { return wrap_; }
  QLineEdit* searchField() const { return search_; }
  QPlainTextEdit* textView() const { return text_; }
  // Errors (the server's Status messages) and the reading state.
  QLabel* statusLabel() const { return status_; }

 public slots:
  // Reads the logs again from the start with the current settings.
  void reload();
  void findNext();
  void findPrevious();
  // Asks for a file name, then saveTo().
  void save();

 signals:
  // A batch of lines was appended.
  void appended(int lines);
  // Every stream ended (not when follow was switched off).
  void ended();

 private:
  void buildUi();
  void setPods(std::vector<json> pods);
  void fillContainerPicker();
  void stopFeed();
  void onFeedReady();
  void flush();
  void markMatches(int from);
  void highlightAll();
  void find(bool backward);
  void showState();

  std::shared_ptr<client::ApiClient> client_;
  QString target_;
  std::vector<json> pods_;
  bool selectorMode_ = false;
  std::shared_ptr<LogFeed> feed_;
  int openStreams_ = 0;
  QStringList errors_;
  QTimer batch_;
  QList<QTextEdit::ExtraSelection> marks_;

  QLabel* title_;
  QComboBox* containers_;
  QCheckBox* follow_;
  QCheckBox* previous_;
  QCheckBox* timestamps_;
  QCheckBox* wrap_;
  QLineEdit* search_;
  QLabel* matches_;
  QPlainTextEdit* text_;
  QLabel* status_;
};

}  // namespace kd::dashboard
