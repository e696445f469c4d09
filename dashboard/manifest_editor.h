#pragma once
// ManifestEditor: YAML manifests (several documents allowed) with syntax highlighting,
// validated live against the API server with a server-side dry run shortly after each edit,
// every problem marked on its line (the field path of the Status causes, located in the YAML)
// and listed below; Apply sends the same requests for real.
//
// Templates of common kinds start a manifest, files open and save, and Diff shows what Apply
// would change (live object against the server's dry run, as `kubectl diff` does).
//
// Each document is created, or, when it already exists, merged into the live object with a
// strategic merge patch. (kdctl's three-way apply lives inside kd_cli's apply.cpp; once it is
// callable the editor should use it.) Calls run off the GUI thread.

#include <QWidget>
#include <memory>

#include "engine/api/status.h"
#include "engine/client/api_client.h"

class QLabel;
class QMenu;
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
  QString diff;      // diffManifests: the unified diff of every document, live -> merged
};

// Validates (dryRun) or applies every document of `text` through `client`. Blocking.
ManifestOutcome applyManifests(client::ApiClient& client, const std::string& text, bool dryRun);
// What applying `text` would change, as `kubectl diff` shows it: each document's live object
// (none when it does not exist) against the server's dry run of the apply, in YAML without
// managedFields. Blocking.
ManifestOutcome diffManifests(client::ApiClient& client, const std::string& text);
// The problems of `outcome` with their lines in `text`.
std::vector<ManifestProblem> problemsOf(const ManifestOutcome& outcome, const std::string& text);

class ManifestEditor : public QWidget {
  Q_OBJECT

 public:
  // `client`: ClusterSession::clientPtr(); the editor's calls hold it.
  explicit ManifestEditor(std::shared_ptr<client::ApiClient> client, QWidget* parent = nullptr);

  void setText(const QString& yaml);
  QString text() const;
  // The bundled templates ("Deployment", "Service", ...), and loading one into the editor.
  static QStringList templateNames();
  bool loadTemplate(const QString& name);
  // Reads or writes the text from or to `path`; a failure names the file and the reason.
  Status openFile(const QString& path);
  Status saveFile(const QString& path);
  // The last diff shown (empty: no differences, or none run yet).
  QString diffText() const;
  const std::vector<ManifestProblem>& problems() const { return problems_; }
  QPlainTextEdit* editor() const { return editor_; }

 public slots:
  void validate();
  void apply();
  void diff();

 signals:
  void validated(const kd::Status& status);
  void applied(const kd::Status& status);
  void diffed(const kd::Status& status);

 private:
  enum class Mode { Validate, Apply, Diff };
  void run(Mode mode);
  void openDialog();
  void saveDialog();
  void showOutcome(const ManifestOutcome& outcome, Mode mode);

  std::shared_ptr<client::ApiClient> client_;
  QPlainTextEdit* editor_;
  QPlainTextEdit* diff_;
  QListWidget* problemList_;
  QLabel* state_;
  QTimer* debounce_;
  std::vector<ManifestProblem> problems_;
  int generation_ = 0;  // drops answers about text that changed since
};

}  // namespace kd::dashboard
