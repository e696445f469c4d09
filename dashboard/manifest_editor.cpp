#include "dashboard/manifest_editor.h"

#include <QFile>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QMenu>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSaveFile>
#include <QSplitter>
#include <QSyntaxHighlighter>
#include <QTextBlock>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>
#include <functional>

#include "dashboard/async_call.h"
#include "dashboard/line_diff.h"
#include "dashboard/yaml_field_locator.h"
#include "dashboard/yaml_highlighter.h"
#include "engine/api/object_key.h"
#include "engine/api/yaml_json.h"

namespace kd::dashboard {
namespace {

using Outcome = std::shared_ptr<ManifestOutcome>;

Result<const api::KindInfo*> kindOf(const json& object) {
  const std::string apiVersion = object.value("apiVersion", "");
  const std::string kindName = object.value("kind", "");
  const api::KindInfo* kind = api::KindsRegistry::builtin().byKind(apiVersion, kindName);
  if (!kind) {
    return Status::badRequest("no matches for kind \"" + kindName + "\" in version \"" +
                              apiVersion + "\"");
  }
  return kind;
}

struct Applied {
  std::string label;  // "deployments/web created"
  json object;        // as the server stored it (or would have, in a dry run)
};

// Creates `object`, or merges it into the live one when it exists.
Result<Applied> applyOne(client::ApiClient& c, const json& object, bool dryRun) {
  auto found = kindOf(object);
  if (!found.ok()) return found.status();
  const api::KindInfo* kind = *found;
  const json& meta = api::metadataOf(object);
  const std::string ns = meta.value("namespace", "");
  const std::string name = meta.value("name", "");
  client::WriteOptions options;
  options.dryRun = dryRun;
  options.fieldManager = "kubedesk";
  options.fieldValidation = "Strict";
  const std::string label = kind->resource + "/" + name;
  auto created = c.create(*kind, ns, object, options);
  if (created.ok()) return Applied{label + " created", std::move(*created)};
  if (created.status().code() != 409 || name.empty()) return created.status();
  auto patched =
      c.patch(*kind, ns, name, client::PatchType::StrategicMerge, object.dump(), options);
  if (!patched.ok()) return patched.status();
  return Applied{label + " configured", std::move(*patched)};
}

// The YAML a diff compares: without managedFields, which kubectl diff also leaves out.
QString diffYaml(json object) {
  if (object.is_null()) return {};
  if (auto meta = object.find("metadata"); meta != object.end() && meta->is_object()) {
    meta->erase("managedFields");
  }
  return QString::fromStdString(api::toYaml(object));
}

// Runs `each` on every document of `text` in order until one fails; the outcome records the
// failure and which document it was.
ManifestOutcome forEachDocument(const std::string& text,
                                const std::function<Status(const json&, ManifestOutcome&)>& each) {
  ManifestOutcome outcome;
  auto docs = api::parseYamlDocuments(text);
  if (!docs.ok()) {
    outcome.status = docs.status();
    return outcome;
  }
  for (size_t i = 0; i < docs->size(); ++i) {
    if ((*docs)[i].is_null()) continue;
    if (Status st = each((*docs)[i], outcome); !st.isOk()) {
      outcome.status = st;
      outcome.failedDocument = i;
      return outcome;
    }
  }
  return outcome;
}

// The document's live object: null when it does not exist (yet).
Result<json> liveObject(client::ApiClient& client, const json& doc) {
  auto kind = kindOf(doc);
  if (!kind.ok()) return kind.status();
  const json& meta = api::metadataOf(doc);
  const std::string name = meta.value("name", "");
  if (name.empty()) return json();
  auto got = client.get(**kind, meta.value("namespace", ""), name);
  if (!got.ok() && got.status().code() == 404) return json();
  return got;
}

}  // namespace

ManifestOutcome applyManifests(client::ApiClient& client, const std::string& text, bool dryRun) {
  return forEachDocument(text, [&](const json& doc, ManifestOutcome& outcome) {
    auto r = applyOne(client, doc, dryRun);
    if (!r.ok()) return r.status();
    outcome.done << QString::fromStdString(r->label) + (dryRun ? " (server dry run)" : "");
    return Status::ok();
  });
}

ManifestOutcome diffManifests(client::ApiClient& client, const std::string& text) {
  return forEachDocument(text, [&](const json& doc, ManifestOutcome& outcome) {
    auto live = liveObject(client, doc);
    if (!live.ok()) return live.status();
    auto merged = applyOne(client, doc, true);
    if (!merged.ok()) return merged.status();
    const QString file = QString::fromStdString(
        merged->label.substr(0, merged->label.find(' ')));  // "configmaps/settings"
    outcome.diff +=
        unifiedDiff(diffYaml(*live), diffYaml(merged->object), "live/" + file, "merged/" + file);
    return Status::ok();
  });
}

std::vector<ManifestProblem> problemsOf(const ManifestOutcome& outcome, const std::string& text) {
  std::vector<ManifestProblem> out;
  if (outcome.status.isOk()) return out;
  for (const auto& cause : outcome.status.causes()) {
    out.push_back({lineOfField(text, outcome.failedDocument, cause.field),
                   QString::fromStdString(cause.field + ": " + cause.message)});
  }
  if (out.empty()) out.push_back({-1, QString::fromStdString(outcome.status.message())});
  return out;
}

// Colours a unified diff's added and removed lines.
class DiffHighlighter : public QSyntaxHighlighter {
 public:
  using QSyntaxHighlighter::QSyntaxHighlighter;

 protected:
  void highlightBlock(const QString& text) override {
    if (text.startsWith("+++") || text.startsWith("---") || text.startsWith("@@")) {
      setFormat(0, int(text.size()), QColor(0x55, 0x55, 0xaa));
    } else if (text.startsWith('+')) {
      setFormat(0, int(text.size()), QColor(0x1a, 0x7f, 0x37));
    } else if (text.startsWith('-')) {
      setFormat(0, int(text.size()), QColor(0xd0, 0x31, 0x2d));
    }
  }
};

// "deployment.yaml" for "Deployment": the templates' resource names in resources/templates.
const std::vector<std::pair<QString, QString>>& templates() {
  static const std::vector<std::pair<QString, QString>> kTemplates = {
      {"Pod", "pod"},
      {"Deployment", "deployment"},
      {"Service", "service"},
      {"ConfigMap", "configmap"},
      {"Secret", "secret"},
      {"Job", "job"},
      {"CronJob", "cronjob"},
      {"StatefulSet", "statefulset"},
      {"DaemonSet", "daemonset"},
      {"PersistentVolumeClaim", "persistentvolumeclaim"},
      {"HorizontalPodAutoscaler", "horizontalpodautoscaler"}};
  return kTemplates;
}

ManifestEditor::ManifestEditor(std::shared_ptr<client::ApiClient> client, QWidget* parent)
    : QWidget(parent),
      client_(std::move(client)),
      editor_(new QPlainTextEdit),
      diff_(new QPlainTextEdit),
      problemList_(new QListWidget),
      state_(new QLabel),
      debounce_(new QTimer(this)) {
  editor_->setObjectName("manifest");
  editor_->setFont(QFont(QStringLiteral("monospace")));
  editor_->setLineWrapMode(QPlainTextEdit::NoWrap);
  new YamlHighlighter(editor_->document());
  problemList_->setObjectName("problems");
  problemList_->setMaximumHeight(120);
  debounce_->setSingleShot(true);
  debounce_->setInterval(700);
  connect(debounce_, &QTimer::timeout, this, &ManifestEditor::validate);
  connect(editor_, &QPlainTextEdit::textChanged, this, [this] {
    ++generation_;
    debounce_->start();
  });
  connect(problemList_, &QListWidget::itemActivated, this, [this](QListWidgetItem* item) {
    const int line = item->data(Qt::UserRole).toInt();
    if (line < 0) return;
    QTextCursor cursor(editor_->document()->findBlockByNumber(line));
    editor_->setTextCursor(cursor);
    editor_->setFocus();
  });
  diff_->setObjectName("diff");
  diff_->setReadOnly(true);
  diff_->setFont(QFont(QStringLiteral("monospace")));
  diff_->setLineWrapMode(QPlainTextEdit::NoWrap);
  diff_->hide();
  new DiffHighlighter(diff_->document());
  auto* templateButton = new QToolButton;
  templateButton->setText(tr("New from template"));
  templateButton->setPopupMode(QToolButton::InstantPopup);
  auto* templateMenu = new QMenu(templateButton);
  for (const auto& [title, file] : templates()) {
    templateMenu->addAction(title, this, [this, title = title] { loadTemplate(title); });
  }
  templateButton->setMenu(templateMenu);
  auto* openButton = new QPushButton(tr("Open…"));
  auto* saveButton = new QPushButton(tr("Save…"));
  auto* diffButton = new QPushButton(tr("Diff"));
  auto* validateButton = new QPushButton(tr("Validate"));
  auto* applyButton = new QPushButton(tr("Apply"));
  connect(openButton, &QPushButton::clicked, this, &ManifestEditor::openDialog);
  connect(saveButton, &QPushButton::clicked, this, &ManifestEditor::saveDialog);
  connect(diffButton, &QPushButton::clicked, this, &ManifestEditor::diff);
  connect(validateButton, &QPushButton::clicked, this, &ManifestEditor::validate);
  connect(applyButton, &QPushButton::clicked, this, &ManifestEditor::apply);
  auto* files = new QHBoxLayout;
  files->addWidget(templateButton);
  files->addWidget(openButton);
  files->addWidget(saveButton);
  files->addStretch(1);
  auto* buttons = new QHBoxLayout;
  buttons->addWidget(state_, 1);
  buttons->addWidget(diffButton);
  buttons->addWidget(validateButton);
  buttons->addWidget(applyButton);
  auto* texts = new QSplitter(Qt::Vertical);
  texts->addWidget(editor_);
  texts->addWidget(diff_);
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(files);
  layout->addWidget(texts, 1);
  layout->addWidget(problemList_);
  layout->addLayout(buttons);
}

QStringList ManifestEditor::templateNames() {
  QStringList names;
  for (const auto& [title, file] : templates()) names << title;
  return names;
}

bool ManifestEditor::loadTemplate(const QString& name) {
  for (const auto& [title, file] : templates()) {
    if (title != name) continue;
    QFile f(":/templates/" + file + ".yaml");
    if (!f.open(QIODevice::ReadOnly)) return false;
    setText(QString::fromUtf8(f.readAll()));
    return true;
  }
  return false;
}

Status ManifestEditor::openFile(const QString& path) {
  QFile f(path);
  if (!f.open(QIODevice::ReadOnly)) {
    return Status::badRequest("cannot open " + path.toStdString() + ": " +
                              f.errorString().toStdString());
  }
  setText(QString::fromUtf8(f.readAll()));
  return {};
}

Status ManifestEditor::saveFile(const QString& path) {
  QSaveFile f(path);
  if (!f.open(QIODevice::WriteOnly) || f.write(text().toUtf8()) < 0 || !f.commit()) {
    return Status::badRequest("cannot save " + path.toStdString() + ": " +
                              f.errorString().toStdString());
  }
  return {};
}

void ManifestEditor::openDialog() {
  const QString path = QFileDialog::getOpenFileName(this, tr("Open manifest"), {},
                                                    tr("YAML (*.yaml *.yml);;All files (*)"));
  if (path.isEmpty()) return;
  if (Status st = openFile(path); !st) state_->setText(QString::fromStdString(st.message()));
}

void ManifestEditor::saveDialog() {
  const QString path = QFileDialog::getSaveFileName(this, tr("Save manifest"), {},
                                                    tr("YAML (*.yaml *.yml);;All files (*)"));
  if (path.isEmpty()) return;
  const Status st = saveFile(path);
  state_->setText(st ? tr("Saved %1").arg(path) : QString::fromStdString(st.message()));
}

QString ManifestEditor::diffText() const {
  return diff_->toPlainText();
}

void ManifestEditor::setText(const QString& yaml) {
  editor_->setPlainText(yaml);
}

QString ManifestEditor::text() const {
  return editor_->toPlainText();
}

void ManifestEditor::validate() {
  run(Mode::Validate);
}

void ManifestEditor::apply() {
  run(Mode::Apply);
}

void ManifestEditor::diff() {
  run(Mode::Diff);
}

void ManifestEditor::run(Mode mode) {
  debounce_->stop();
  const std::string text = editor_->toPlainText().toStdString();
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) return;
  static const QString kDoing[] = {tr("Validating…"), tr("Applying…"), tr("Comparing…")};
  state_->setText(kDoing[int(mode)]);
  std::shared_ptr<client::ApiClient> client = client_;
  const int generation = generation_;
  runAsync<Outcome>(
      this,
      [client, text, mode]() -> Result<Outcome> {
        return std::make_shared<ManifestOutcome>(
            mode == Mode::Diff ? diffManifests(*client, text)
                               : applyManifests(*client, text, mode == Mode::Validate));
      },
      [this, mode, generation](const Result<Outcome>& r) {
        // A validation of text that changed meanwhile is stale.
        if (mode == Mode::Validate && generation != generation_) return;
        showOutcome(**r, mode);
      });
}

void ManifestEditor::showOutcome(const ManifestOutcome& outcome, Mode mode) {
  const std::string text = editor_->toPlainText().toStdString();
  problems_ = problemsOf(outcome, text);
  problemList_->clear();
  QList<QTextEdit::ExtraSelection> marks;
  for (const auto& p : problems_) {
    auto* item = new QListWidgetItem(
        (p.line >= 0 ? tr("line %1: ").arg(p.line + 1) : QString()) + p.message, problemList_);
    item->setData(Qt::UserRole, p.line);
    item->setForeground(QColor(0xd0, 0x31, 0x2d));
    if (p.line < 0) continue;
    QTextEdit::ExtraSelection mark;
    mark.cursor = QTextCursor(editor_->document()->findBlockByNumber(p.line));
    mark.format.setBackground(QColor(0xff, 0xe0, 0xe0));
    mark.format.setUnderlineStyle(QTextCharFormat::WaveUnderline);
    mark.format.setUnderlineColor(Qt::red);
    mark.format.setProperty(QTextFormat::FullWidthSelection, true);
    mark.format.setToolTip(p.message);
    marks << mark;
  }
  editor_->setExtraSelections(marks);
  if (!outcome.status.isOk()) {
    state_->setText(QString::fromStdString(outcome.status.message()));
  } else if (mode == Mode::Diff) {
    state_->setText(outcome.diff.isEmpty() ? tr("No differences from the live objects")
                                           : tr("Differences from the live objects below"));
  } else {
    state_->setText(outcome.done.join("; "));
  }
  switch (mode) {
    case Mode::Validate:
      emit validated(outcome.status);
      break;
    case Mode::Apply:
      emit applied(outcome.status);
      break;
    case Mode::Diff:
      diff_->setPlainText(outcome.diff);
      diff_->setVisible(true);
      emit diffed(outcome.status);
      break;
  }
}

}  // namespace kd::dashboard
