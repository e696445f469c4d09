#pragma once
// ManifestEditor: YAML manifests (several documents allowed) with syntax highlighting,
// validated live against the API server with a server-side dry run shortly after each edit,
// every problem marked on its line (the field path of the Status causes, located in the YAML)
// and listed below; Apply sends the same requests for real.
//
// Each document is created, or, when it already exists, merged into the live object with a
// strategic merge patch. (kdctl's three-way apply lives inside kd_cli's apply.cpp; once it is
// callable the editor should use it.) Calls run off the GUI thread.

#include <QWidget>

#include "engine/api/status.h"
#include "engine/client/api_client.h"

class QLabel;
class QListWidget;
class QPlainTextEdit;
class QTimer;

namespace kd::dashboard {

struct ManifestProblem {
  int line = -1;  // 0-based, -1 = not tied to a line
  QString message;
};

// The outcome of validating or applying a whole text.
struct ManifestOutcome {
  Status status;  // the first failure, OK when every document passed
  size_t failedDocument = 0;
  QStringList done;  // "deployment.apps/web created" / "... configured"
};

// Validates (dryRun) or applies every document of `text` through `client`. Blocking.
ManifestOutcome applyManifests(client::ApiClient& client, const std::string& text, bool dryRun);
// The problems of `outcome` with their lines in `text`.
std::vector<ManifestProblem> problemsOf(const ManifestOutcome& outcome, const std::string& text);

class ManifestEditor : public QWidget {
  Q_OBJECT

 public:
  // `client` must outlive the editor.
  explicit ManifestEditor(client::ApiClient* client, QWidget* parent = nullptr);

  void setText(const QString& yaml);
  QString text() const;
  const std::vector<ManifestProblem>& problems() const { return problems_; }
  QPlainTextEdit* editor() const { return editor_; }

 public slots:
  void validate();
  void apply();

 signals:
  void validated(const kd::Status& status);
  void applied(const kd::Status& status);

 private:
  void run(bool dryRun);
  void showOutcome(const ManifestOutcome& outcome, bool dryRun);

  client::ApiClient* client_;
  QPlainTextEdit* editor_;
  QListWidget* problemList_;
  QLabel* state_;
  QTimer* debounce_;
  std::vector<ManifestProblem> problems_;
  int generation_ = 0;  // drops answers about text that changed since
};

}  // namespace kd::dashboard
